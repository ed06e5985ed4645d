"""The scheduler daemon on a simulated clock: advance the time, run a scheduling round, see
which jobs fired and in which order, without sleeping and without per-second cron.

APScheduler 3 takes no clock: it reads the time as `datetime.now(...)` in two places, the
scheduling round (`apscheduler.schedulers.base`) and the executors' misfire check
(`apscheduler.executors.base`). `SimulatedClock.installed()` points those two names at the
clock for the duration of a test; the daemon itself gets the same clock as its `clock`
argument, so job history, events and heartbeats carry simulated times too. Everything else is
the real daemon: its job store in the state database, reconciliation, executors, listeners,
JobRunner, locks and child processes.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import apscheduler.executors.base as executor_module
import apscheduler.schedulers.base as scheduler_module
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.base import BaseScheduler

from jobs.daemon.adapters import DaemonScheduler
from jobs.daemon.schedule_settings import SchedulerSettings
from jobs.daemon.scheduler import HEARTBEAT_JOB, Daemon
from nbaprops.settings import Settings
from nbaprops.statedb import upgrade

SETTLE_SECONDS = 60.0  # how long the submitted runs of one round may take, in real time
MAX_ROUNDS = 10_000  # a guard against a schedule that never lets the clock move on
_READS_THE_TIME = (scheduler_module, executor_module)  # each reads `<module>.datetime.now`
_TIME_NAME = "datetime"


class SimulatedClock:
    """An aware UTC time that moves only when a test moves it."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError(f"SimulatedClock needs an aware start time, got {start!r}")
        self._now = start.astimezone(dt.UTC)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        """The simulated time (the daemon's `clock`)."""
        with self._lock:
            return self._now

    def move_to(self, when: dt.datetime) -> None:
        """Set the time to `when`; time never runs backwards."""
        with self._lock:
            if when < self._now:
                raise ValueError(f"the clock is at {self._now}; it cannot go back to {when}")
            self._now = when.astimezone(dt.UTC)

    @contextmanager
    def installed(self) -> Iterator[SimulatedClock]:
        """APScheduler reads this clock instead of the system's until the block ends."""
        clock = self

        class _ClockedDatetime(dt.datetime):
            @classmethod
            def now(cls, tz: dt.tzinfo | None = None) -> Any:
                current = clock.now()
                return current.astimezone(tz) if tz is not None else current

        saved: list[tuple[ModuleType, Any]] = []
        for module in _READS_THE_TIME:
            original = getattr(module, _TIME_NAME, None)
            if original is not dt.datetime:  # an APScheduler that reads the time differently
                raise RuntimeError(
                    f"{module.__name__}.datetime is {original!r}, not datetime.datetime: "
                    "check how this APScheduler version reads the time before simulating it"
                )
            saved.append((module, original))
            setattr(module, _TIME_NAME, _ClockedDatetime)
        try:
            yield self
        finally:
            for module, original in saved:
                setattr(module, _TIME_NAME, original)


@dataclass(frozen=True)
class Firing:
    """One run the scheduler handed to an executor: the job and the time it was due."""

    job: str
    due: dt.datetime


class SteppedScheduler(DaemonScheduler):
    """The daemon's scheduler without its loop: `start` returns, and the test runs each
    scheduling round with `run_round`, then `settle` waits for the runs it handed out."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.firings: list[Firing] = []
        self._open = 0
        self._ended = threading.Condition()

    def start(self, paused: bool = False) -> None:
        # Listened to last, after the daemon's own listeners: a run counts as ended once the
        # daemon has recorded what its event means (a missed run's history row, say).
        self.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)
        self.add_listener(self._on_ended, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
        self._event = threading.Event()  # what BlockingScheduler.shutdown sets
        BaseScheduler.start(self, paused)

    def wakeup(self) -> None:
        """Rounds run when the test calls `run_round`, not on a wakeup."""

    def run_round(self) -> float | None:
        """One scheduling round at the clock's time; the seconds until the next one is due."""
        wait: float | None = self._process_jobs()
        return wait

    def settle(self) -> None:
        """Wait until every run handed out so far has ended (fails after SETTLE_SECONDS)."""
        with self._ended:
            if not self._ended.wait_for(lambda: self._open == 0, timeout=SETTLE_SECONDS):
                raise AssertionError(f"{self._open} run(s) still going after {SETTLE_SECONDS} s")

    def _on_submitted(self, event: JobSubmissionEvent) -> None:
        with self._ended:
            self._open += 1
        if event.job_id != HEARTBEAT_JOB:
            self.firings.append(Firing(event.job_id, event.scheduled_run_times[-1]))

    def _on_ended(self, event: JobEvent) -> None:
        with self._ended:
            self._open -= 1
            self._ended.notify_all()


class SteppedDaemon:
    """A started daemon scheduler driven by a simulated clock (see the module docstring)."""

    def __init__(self, daemon: Daemon, scheduler: SteppedScheduler, clock: SimulatedClock):
        self.daemon = daemon
        self.scheduler = scheduler
        self.clock = clock

    def run_round(self, settle: bool = True) -> list[Firing]:
        """A round at the clock's time; the runs it fired (ended, unless `settle` is False)."""
        return self._round(settle)[0]

    def run_until(self, until: dt.datetime) -> list[Firing]:
        """Move the clock from one due time to the next up to `until`, a round at each (and
        one at `until`), every run ended before the clock moves on; what fired, in order."""
        fired, wait = self._round(settle=True)
        for _ in range(MAX_ROUNDS):
            if wait is None:
                break
            due = self.clock.now() + dt.timedelta(seconds=max(wait, 1e-6))
            if due > until:
                break
            self.clock.move_to(due)
            more, wait = self._round(settle=True)
            fired += more
        else:
            raise AssertionError(f"more than {MAX_ROUNDS} rounds before {until}")
        if self.clock.now() < until:
            self.clock.move_to(until)
            fired += self._round(settle=True)[0]
        return fired

    def _round(self, settle: bool) -> tuple[list[Firing], float | None]:
        before = len(self.scheduler.firings)
        wait = self.scheduler.run_round()
        if settle:
            self.scheduler.settle()
        return self.scheduler.firings[before:], wait


@contextmanager
def stepped_daemon(
    settings: Settings, scheduler_settings: SchedulerSettings, clock: SimulatedClock
) -> Iterator[SteppedDaemon]:
    """The daemon's scheduler on `clock`, reconciled and resumed, for the block's duration.

    Start-up is the daemon's own (schema upgrade, reconciliation in the started listener,
    heartbeat job); the process concerns (daemon lock, signals, recovery) are left to the
    subprocess tests. At the end the scheduler stops and the runs it handed out are awaited.
    """
    daemon = Daemon(settings, scheduler_settings, clock=clock.now)
    upgrade(daemon.engine)
    with clock.installed(), daemon.scheduling(SteppedScheduler) as scheduler:
        assert isinstance(scheduler, SteppedScheduler)
        scheduler.start(paused=True)  # the started listener reconciles, then resumes
        try:
            yield SteppedDaemon(daemon, scheduler, clock)
        finally:
            scheduler.settle()
            scheduler.shutdown(wait=True)
            daemon.engine.dispose()
