"""The scheduler daemon: one BlockingScheduler on a SQLAlchemyJobStore in the state database.

Start-up takes the daemon lock (APScheduler 3 supports one scheduler per job store), cleans
up after a killed predecessor (job-history rows left 'running', MLflow runs left RUNNING),
then starts the scheduler paused, reconciles the declared jobs with the stored ones and
resumes. Every stored job calls `run_scheduled(job_name)` by its 'module:function' reference;
it runs the job through the same JobRunner (and lock) as `nbaprops jobs run`. A memory-store
job writes the heartbeat. SIGTERM/SIGINT stop scheduling, give a running job the stop
deadline, then terminate its child; the daemon exits 0.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import sys
import threading
import time
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_SCHEDULER_STARTED,
    JobExecutionEvent,
    JobSubmissionEvent,
    SchedulerEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers import SchedulerNotRunningError
from sqlalchemy import exc as sa_exc

from jobs.daemon.adapters import DaemonScheduler, ScheduledTimeExecutor, describe_event
from jobs.daemon.catalogue import lookup, planned_jobs
from jobs.daemon.history import Heartbeat, JobHistory
from jobs.daemon.locks import daemon_lock
from jobs.daemon.reconcile import (
    HEAVY_EXECUTOR,
    JOBSTORE,
    JOBSTORE_TABLE,
    LIGHT_EXECUTOR,
    reconcile,
)
from jobs.daemon.recovery import (
    RUN_CONTEXT_VARIABLE,
    RUN_TAG_DAEMON,
    close_dead_runs,
    fail_orphaned_runs,
    run_context,
)
from jobs.daemon.runner import JobBusyError, JobRunner
from jobs.daemon.schedule_settings import SchedulerSettings
from jobs.daemon.types import Clock, utc_now
from nbaprops.settings import Settings
from nbaprops.statedb import state_engine, upgrade
from nbaprops.tracking.outage import mask_passwords

log = logging.getLogger(__name__)

HEARTBEAT_JOB = "heartbeat"
HEARTBEAT_EXECUTOR = "heartbeat"
LIGHT_WORKERS = 4

_current: Daemon | None = None  # the daemon running in this process, for run_scheduled


class DaemonAlreadyRunningError(RuntimeError):
    """Another scheduler daemon holds this state database's job store."""


class StateDatabaseUnavailableError(RuntimeError):
    """The state database cannot be reached at start-up; nothing was started or written."""


def state_database_unavailable(settings: Settings, exc: Exception) -> StateDatabaseUnavailableError:
    """The start-up error naming the state database (password masked) and what to check."""
    url = mask_passwords(settings.resolved_database_url)
    text = str(getattr(exc, "orig", None) or exc).strip()
    detail = mask_passwords(text.splitlines()[0] if text else type(exc).__name__)
    return StateDatabaseUnavailableError(
        f"the state database {url} cannot be reached ({detail}); check that it is running and "
        "NBAPROPS_DATABASE_URL, then start the scheduler again (nothing was started)"
    )


def run_scheduled(job_name: str, scheduled_at: str | None = None) -> dict[str, Any]:
    """What every stored job calls: run `job_name` through this process's daemon."""
    if _current is None:
        raise RuntimeError(
            f"run_scheduled({job_name!r}) is called by the scheduler daemon only; "
            f"run the job by hand with `nbaprops jobs run {job_name}`"
        )
    return _current.run_scheduled(job_name, scheduled_at)


def beat() -> None:
    """The heartbeat job: record that the daemon's scheduler loop is alive."""
    if _current is not None:
        _current.write_heartbeat("running")


class Daemon:
    """The long-running scheduler process; `run()` blocks until a signal stops it."""

    def __init__(
        self,
        settings: Settings,
        scheduler_settings: SchedulerSettings,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self.scheduler_settings = scheduler_settings
        self.clock = clock
        self.timezone = zoneinfo.ZoneInfo(scheduler_settings.timezone)
        self.planned = planned_jobs(scheduler_settings)  # ScheduleError before anything starts
        self.engine = state_engine(settings)
        self.history = JobHistory(self.engine)
        self.pid = os.getpid()
        self.host = socket.gethostname()
        self.identity = f"{self.host}:{self.pid}"
        self.runner = JobRunner(
            settings,
            scheduler_settings,
            self.engine,
            clock=clock,
            extra_run_tags={RUN_TAG_DAEMON: self.identity},
        )
        self.started_at = clock()
        self.scheduler: DaemonScheduler | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._signals = 0
        self._active = {True: 0, False: 0}  # running jobs, by heavy
        self._idle = threading.Condition()
        self._stop_at = 0.0  # monotonic time a running light job must end by

    # --- lifecycle -------------------------------------------------------------------------

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; 0 on a clean stop."""
        try:  # an unreachable state DB stops the start here, before anything is written
            lock = daemon_lock(self.settings, self.engine)
            revision = upgrade(self.engine)  # SchemaTooNewError: refuse a newer schema
            acquired = lock.try_acquire()
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
            raise state_database_unavailable(self.settings, exc) from None
        log.info("state database at schema %s", revision)
        if not acquired:
            raise DaemonAlreadyRunningError(self._already_running_message())
        self.started_at = self.clock()
        previous_handlers = {}
        previous_context = os.environ.get(RUN_CONTEXT_VARIABLE)
        try:
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous_handlers[sig] = signal.signal(sig, self._on_signal)
            self._recover()
            # Runs that in-process (light) jobs open carry the daemon's identity.
            os.environ[RUN_CONTEXT_VARIABLE] = run_context(
                previous_context, {RUN_TAG_DAEMON: self.identity}
            )
            self.write_heartbeat("running")
            with self.scheduling() as scheduler:
                log.info("scheduler started (pid %d); jobs: %s", self.pid,
                         ", ".join(f"{p.spec.name} '{p.cron}'" for p in self.planned))  # fmt: skip
                scheduler.start(paused=True)  # blocks until shutdown
                if self._startup_error is not None:
                    raise self._startup_error
                self._drain()
            self.write_heartbeat("stopped")
            log.info("scheduler stopped")
            return 0
        finally:
            for sig, handler in previous_handlers.items():
                signal.signal(sig, handler)
            if previous_context is None:
                os.environ.pop(RUN_CONTEXT_VARIABLE, None)
            else:
                os.environ[RUN_CONTEXT_VARIABLE] = previous_context
            lock.release()

    def _already_running_message(self) -> str:
        beat = self.history.read_heartbeat()
        holder = ""
        if beat is not None:
            age = beat.age_seconds(self.clock())
            holder = f" (pid {beat.pid} on host {beat.host}, last heartbeat {age:.0f} s ago)"
        return (
            f"a scheduler daemon already runs on this state database{holder}; "
            "APScheduler 3 supports one scheduler per job store: stop it first"
        )

    def _recover(self) -> None:
        """Close what a killed predecessor left open: history rows, then MLflow runs."""
        now = self.clock()
        closed = close_dead_runs(self.settings, self.engine, self.history, now)
        if closed:
            log.warning("closed %d job run(s) left 'running' by a dead process: %s",
                        len(closed), closed)  # fmt: skip
        try:
            fail_orphaned_runs(
                self.settings,
                self.history,
                now,
                daemon_identity=self.identity,
                untagged_min_age_seconds=self.scheduler_settings.orphan_run_min_age_seconds,
            )
        except Exception:
            log.exception("could not check MLflow for runs left RUNNING; continuing")

    @contextmanager
    def scheduling(
        self, scheduler_class: type[DaemonScheduler] = DaemonScheduler
    ) -> Iterator[DaemonScheduler]:
        """The daemon's scheduler (job stores, executors, listeners), not yet started, with
        this daemon serving `run_scheduled` until the block ends.

        `run` starts it and blocks in its loop; a test passes a class whose `start` returns
        and runs the scheduling rounds itself, on a simulated clock.
        """
        global _current
        self.scheduler = self._build_scheduler(scheduler_class)
        _current = self
        try:
            yield self.scheduler
        finally:
            _current = None

    def _build_scheduler(self, scheduler_class: type[DaemonScheduler]) -> DaemonScheduler:
        settings = self.scheduler_settings
        scheduler = scheduler_class(
            timezone=self.timezone,
            jobstores={
                JOBSTORE: SQLAlchemyJobStore(engine=self.engine, tablename=JOBSTORE_TABLE),
                "memory": MemoryJobStore(),
            },
            executors={
                LIGHT_EXECUTOR: ScheduledTimeExecutor(max_workers=LIGHT_WORKERS),
                HEAVY_EXECUTOR: ScheduledTimeExecutor(max_workers=1),
                HEARTBEAT_EXECUTOR: ThreadPoolExecutor(max_workers=1),
            },
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": settings.misfire_grace_seconds,
            },
        )
        scheduler.add_listener(self._on_started, EVENT_SCHEDULER_STARTED)
        scheduler.add_listener(
            self._on_job_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
        )
        return scheduler

    def _on_started(self, event: SchedulerEvent) -> None:
        """Reconcile the stored jobs, add the heartbeat, resume (listener errors are caught)."""
        scheduler = self.scheduler
        assert scheduler is not None
        try:
            report = reconcile(
                scheduler, self.planned, self.scheduler_settings.misfire_grace_seconds
            )
            log.info("job store reconciled: %s", report.to_dict())
            scheduler.add_job(
                beat, "interval", seconds=self.scheduler_settings.heartbeat_seconds,
                id=HEARTBEAT_JOB, name=HEARTBEAT_JOB, jobstore="memory",
                executor=HEARTBEAT_EXECUTOR, misfire_grace_time=None,
            )  # fmt: skip
            if not self.runner.stopping.is_set():  # a signal during start-up: do not resume
                scheduler.resume()
        except BaseException as exc:
            self._startup_error = exc
            with suppress(SchedulerNotRunningError):
                scheduler.shutdown(wait=False)
        finally:
            self._ready.set()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """First signal: stop scheduling, let a running job finish in time. Second: hurry."""
        self._signals += 1
        name = signal.Signals(signum).name
        if self._signals == 1:
            self._stop_at = time.monotonic() + self.scheduler_settings.stop_deadline_seconds
            log.warning("%s received: stopping; running jobs get %g s", name,
                        self.scheduler_settings.stop_deadline_seconds)  # fmt: skip
            self.runner.stopping.set()
            threading.Thread(target=self._stop_scheduler, name="scheduler-stop").start()
        else:
            log.warning("%s received again: terminating running jobs now", name)
            self.runner.hurry.set()

    def _stop_scheduler(self) -> None:
        self._ready.wait()
        if self.scheduler is not None:
            with suppress(SchedulerNotRunningError):
                self.scheduler.shutdown(wait=False)

    def _drain(self) -> None:
        """Wait for running jobs to end: heavy ones are stopped by their runners at the
        deadline; a light one (a thread) still running at the deadline is left behind."""
        settings = self.scheduler_settings
        with self._idle:
            self._idle.wait_for(lambda: self._active[True] == 0)
            remaining = max(0.0, self._stop_at - time.monotonic())
            if self._idle.wait_for(lambda: self._active[False] == 0, timeout=remaining):
                return
        now = self.clock()
        for row in self.history.running():
            if row.pid == self.pid and row.host == self.host:
                self.history.close_run(
                    row.id, now, "terminated",
                    error="the scheduler was stopped and this in-process job did not finish "
                    f"within the {settings.stop_deadline_seconds:g} s stop deadline",
                )  # fmt: skip
        self.write_heartbeat("stopped")
        log.warning("a job thread did not finish; exiting without it")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    @contextmanager
    def _counted(self, heavy: bool) -> Iterator[None]:
        with self._idle:
            self._active[heavy] += 1
        try:
            yield
        finally:
            with self._idle:
                self._active[heavy] -= 1
                self._idle.notify_all()

    # --- jobs and events -------------------------------------------------------------------

    def write_heartbeat(self, state: str) -> None:
        """Record the daemon's liveness (time, pid, host) in the state database."""
        beat = Heartbeat(self.clock(), self.started_at, self.pid, self.host, state)
        self.history.write_heartbeat(beat)

    def _run_for(self, scheduled_at: dt.datetime) -> dt.date:
        return scheduled_at.astimezone(self.timezone).date()

    def run_scheduled(self, job_name: str, scheduled_at: str | None) -> dict[str, Any]:
        """Run one scheduled job for the day it was due."""
        spec = lookup(job_name)
        due = dt.datetime.fromisoformat(scheduled_at) if scheduled_at else self.clock()
        run_for = self._run_for(due)
        if self.runner.stopping.is_set():
            self.history.record_event(
                job_name, run_for, self.clock(), "missed", trigger="scheduled",
                pid=self.pid, host=self.host, scheduled_at=due,
                error="the scheduler stopped before this run started; run it by hand with "
                f"`nbaprops jobs run {job_name} --date {run_for}`",
            )  # fmt: skip
            return {"status": "missed"}
        with self._counted(spec.heavy):
            try:
                outcome = self.runner.run(
                    spec, run_for, trigger="scheduled", scheduled_at=due, record_refusal=True
                )
            except JobBusyError as exc:
                log.warning("%s", exc)
                return {"status": "refused", "error": str(exc)}
        return outcome.to_dict()

    def _on_job_event(self, event: JobExecutionEvent | JobSubmissionEvent) -> None:
        """Record APScheduler's error, missed and max-instances events in job history."""
        if event.job_id == HEARTBEAT_JOB:
            if event.code == EVENT_JOB_ERROR:
                log.error("heartbeat failed: %s", getattr(event, "exception", None))
            return
        try:
            self._record_event(event)
        except Exception:
            log.exception("could not record scheduler event %s for %s", event.code, event.job_id)

    def _record_event(self, event: JobExecutionEvent | JobSubmissionEvent) -> None:
        now = self.clock()
        grace = self.scheduler_settings.misfire_grace_seconds
        record = describe_event(event, now, grace, self.timezone)
        self.history.record_event(
            event.job_id, record.run_for, now, record.status, trigger="scheduled",
            pid=self.pid, host=self.host, error=record.error, scheduled_at=record.due,
        )  # fmt: skip
        log.warning("job %s: %s", event.job_id, record.error.splitlines()[0])
