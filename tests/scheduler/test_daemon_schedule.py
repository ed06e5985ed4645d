"""The daemon's scheduling on a simulated clock: which runs fire, in which order, and what job
history records, for a given simulated time. The real scheduler, job store, executors, runner
and child processes; only the time is simulated (tests/support/daemon_clock.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from jobs.daemon.status import stored_next_runs
from nbaprops.settings import Settings
from tests.support.daemon_clock import Firing, SimulatedClock, SteppedDaemon, stepped_daemon

# Two years before this machine's own clock would ever read: if APScheduler read the system
# time instead of the simulated one, every run below would be late by far more than its grace.
MONDAY = dt.datetime(2025, 1, 13, tzinfo=dt.UTC)
QUIET = {"heartbeat_seconds": 24 * 3600}  # keep the heartbeat out of the rounds


Drive = Callable[..., SteppedDaemon]


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """`hour:minute` UTC on the `day`-th day after MONDAY."""
    return MONDAY + dt.timedelta(days=day, hours=hour, minutes=minute)


@pytest.fixture
def drive(settings: Settings, kit: Any) -> Iterator[Drive]:
    """Start the daemon's scheduler at a simulated time with the given scheduler settings;
    it stops (its runs awaited) at the end of the test."""
    with ExitStack() as stack:

        def start(now: dt.datetime, **values: Any) -> SteppedDaemon:
            scheduler = kit.scheduler_settings(**QUIET, **values)
            return stack.enter_context(stepped_daemon(settings, scheduler, SimulatedClock(now)))

        yield start


def test_jobs_fire_at_their_times_in_order_and_nothing_in_between(
    drive: Drive, state: Any, kit: Any
) -> None:
    daemon = drive(
        at(0, 8),
        jobs="fault_marker,fault_marker_light",
        schedules={"fault_marker": "0 9 * * *", "fault_marker_light": "30 9 * * *"},
    )
    assert daemon.run_until(at(0, 8, 59)) == []
    assert daemon.run_until(at(1, 10)) == [
        Firing("fault_marker", at(0, 9)),
        Firing("fault_marker_light", at(0, 9, 30)),
        Firing("fault_marker", at(1, 9)),
        Firing("fault_marker_light", at(1, 9, 30)),
    ]
    rows = state.rows()
    assert [(r.job, r.run_for, r.scheduled_at, r.status) for r in rows] == [
        ("fault_marker", at(0, 0).date(), at(0, 9), "succeeded"),
        ("fault_marker_light", at(0, 0).date(), at(0, 9, 30), "succeeded"),
        ("fault_marker", at(1, 0).date(), at(1, 9), "succeeded"),
        ("fault_marker_light", at(1, 0).date(), at(1, 9, 30), "succeeded"),
    ]
    assert all(r.started_at >= r.scheduled_at for r in rows)  # history is on the same clock
    assert len(kit.markers()) == 4
    assert stored_next_runs(state.engine) == {
        "fault_marker": at(2, 9),
        "fault_marker_light": at(2, 9, 30),
    }


def test_a_missed_nightly_run_is_caught_up_once(drive: Drive, state: Any, kit: Any) -> None:
    scheduler = kit.scheduler_settings(jobs="fault_marker", schedules={"fault_marker": "0 9 * * *"})
    # The daemon was down for three days: the stored next run is three firings ago.
    kit.seed(scheduler, {"fault_marker": at(-3, 9)})
    daemon = drive(at(0, 9, 30), jobs="fault_marker", schedules={"fault_marker": "0 9 * * *"})

    assert daemon.run_round() == [Firing("fault_marker", at(0, 9))]  # coalesced: one run
    assert daemon.run_until(at(1, 8, 59)) == []  # and nothing else until the next firing
    (row,) = state.rows("fault_marker")
    assert (row.status, row.trigger) == ("succeeded", "scheduled")
    assert (row.scheduled_at, row.run_for) == (at(0, 9), at(0, 0).date())
    assert len(kit.markers()) == 1
    assert stored_next_runs(state.engine)["fault_marker"] == at(1, 9)


def test_a_run_missed_beyond_the_grace_time_is_recorded_not_run(
    drive: Drive, state: Any, kit: Any
) -> None:
    values = {"jobs": "fault_marker", "schedules": {"fault_marker": "0 9 * * *"}}
    kit.seed(kit.scheduler_settings(**values), {"fault_marker": at(0, 9)})
    daemon = drive(at(0, 9, 30), misfire_grace_seconds=60, **values)

    assert daemon.run_round() == [Firing("fault_marker", at(0, 9))]
    (row,) = state.rows("fault_marker")
    assert row.status == "missed"
    assert "1800 s late, beyond the misfire grace of 60 s" in row.error
    assert f"nbaprops jobs run fault_marker --date {at(0, 0).date()}" in row.error
    assert kit.markers() == []


def test_failing_and_hanging_jobs_leave_the_scheduler_running(
    drive: Drive, state: Any, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBAPROPS_FAULT_HANG_IGNORES_SIGTERM", "true")  # only SIGKILL stops it
    daemon = drive(
        at(0, 8),
        jobs="fault_raise,fault_hang,fault_marker_light",
        schedules={
            "fault_raise": "0 9 * * *",
            "fault_hang": "0 10 * * *",
            "fault_marker_light": "0 11 * * *",
        },
        timeouts={"fault_hang": 1},
        kill_grace_seconds=1,
    )
    fired = daemon.run_until(at(1, 12))
    assert [f.job for f in fired] == ["fault_raise", "fault_hang", "fault_marker_light"] * 2
    assert [(r.job, r.status) for r in state.rows()] == [
        ("fault_raise", "failed"),
        ("fault_hang", "timeout"),
        ("fault_marker_light", "succeeded"),
    ] * 2
    failed = state.rows("fault_raise")[0]
    assert "InjectedFault: fault_raise: injected failure" in failed.error
    assert "exceeded its 1 s timeout" in state.rows("fault_hang")[0].error
    hung = [int(line.split()[1]) for line in kit.markers() if line.endswith("hang-started")]
    assert len(hung) == 2
    assert not any(kit.pid_alive(pid) for pid in hung)
    assert state.history.running() == []


def test_a_run_still_going_at_its_next_firing_is_refused_not_queued(
    drive: Drive, state: Any, kit: Any
) -> None:
    daemon = drive(
        at(0, 8, 59),
        jobs="fault_hang",
        schedules={"fault_hang": "0 * * * *"},
        timeouts={"fault_hang": 600},
        kill_grace_seconds=1,
    )
    daemon.clock.move_to(at(0, 9))
    assert daemon.run_round(settle=False) == [Firing("fault_hang", at(0, 9))]
    daemon.clock.move_to(at(0, 10))
    assert daemon.run_round(settle=False) == []  # handed to no executor: refused
    refused = [r for r in state.rows("fault_hang") if r.status == "refused"]
    assert [(r.scheduled_at, r.run_for) for r in refused] == [(at(0, 10), at(0, 0).date())]
    assert "max_instances=1" in refused[0].error
    daemon.daemon.runner.hurry.set()  # end the hanging run now
    daemon.scheduler.settle()
    assert sorted(r.status for r in state.rows("fault_hang")) == ["refused", "terminated"]
    assert stored_next_runs(state.engine)["fault_hang"] == at(0, 11)
