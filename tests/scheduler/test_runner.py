"""JobRunner in this process: real child processes, real locks, a real SQLite history."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest

from jobs.daemon.catalogue import JobSpec, lookup
from jobs.daemon.locks import job_lock
from jobs.daemon.runner import JobBusyError, JobRunner
from nbaprops.settings import Settings
from nbaprops.statedb import state_engine

DAY = dt.date(2025, 1, 13)


@pytest.fixture
def runner(settings: Settings, kit: Any) -> JobRunner:
    scheduler = kit.scheduler_settings(timeouts={"fault_hang": 1}, kill_grace_seconds=0.5)
    runner = JobRunner(settings, scheduler, state_engine(settings))
    runner.history.ensure_schema()
    return runner


def test_a_heavy_job_runs_in_a_child_and_its_result_is_recorded(
    runner: JobRunner, kit: Any
) -> None:
    outcome = runner.run(lookup("fault_marker"), DAY, trigger="manual")
    assert outcome.status == "succeeded"
    assert outcome.summary["run_for"] == "2025-01-13"
    row = runner.history.get(outcome.history_id)
    assert row is not None
    assert (row.status, row.trigger, row.run_for) == ("succeeded", "manual", DAY)
    assert row.summary == outcome.summary
    (marker,) = kit.markers()
    assert int(marker.split()[1]) != runner.pid  # it ran in another process


def test_a_light_job_runs_in_this_process(runner: JobRunner, kit: Any) -> None:
    outcome = runner.run(lookup("fault_marker_light"), DAY, trigger="manual")
    assert outcome.status == "succeeded"
    assert int(kit.markers()[0].split()[1]) == runner.pid


def test_a_raising_job_is_recorded_as_failed_with_its_traceback(runner: JobRunner) -> None:
    outcome = runner.run(lookup("fault_raise"), DAY, trigger="manual")
    assert outcome.status == "failed"
    assert not outcome.ok
    assert outcome.error is not None
    assert "InjectedFault: fault_raise: injected failure for 2025-01-13" in outcome.error
    assert "log:" in outcome.error
    row = runner.history.get(outcome.history_id)
    assert row is not None and row.status == "failed" and row.error == outcome.error


def test_a_job_returning_the_wrong_type_fails_clearly(runner: JobRunner) -> None:
    spec = JobSpec("odd", "operator:is_", None, 5, False, "returns a bool, not a JobResult")
    outcome = runner.run(spec, DAY, trigger="manual")
    assert outcome.status == "failed"
    assert outcome.error is not None and "return a JobResult" in outcome.error


@pytest.mark.parametrize("ignores_sigterm", [False, True])
def test_a_hanging_job_is_stopped_at_its_timeout(
    runner: JobRunner, kit: Any, monkeypatch: pytest.MonkeyPatch, ignores_sigterm: bool
) -> None:
    monkeypatch.setenv("NBAPROPS_FAULT_HANG_IGNORES_SIGTERM", str(ignores_sigterm).lower())
    outcome = runner.run(lookup("fault_hang"), DAY, trigger="manual")
    assert outcome.status == "timeout"
    assert outcome.error is not None and "exceeded its 1 s timeout" in outcome.error
    child = int(kit.markers()[0].split()[1])
    assert not kit.pid_alive(child)
    # The lock is free again: the next run proceeds.
    assert runner.run(lookup("fault_marker"), DAY, trigger="manual").status == "succeeded"


def test_a_held_lock_refuses_or_waits(runner: JobRunner, settings: Settings) -> None:
    spec = lookup("fault_marker")
    holder = job_lock(settings, runner.engine, spec.name)
    assert holder.try_acquire()
    with pytest.raises(JobBusyError, match=r"fault_marker is already running.*--wait"):
        runner.run(spec, DAY, trigger="manual")
    assert runner.history.recent() == []  # a refused manual trigger writes nothing
    with pytest.raises(JobBusyError):
        runner.run(spec, DAY, trigger="scheduled", record_refusal=True)
    (refused,) = runner.history.recent()
    assert refused.status == "refused"
    assert refused.ended_at == refused.started_at

    released = threading.Event()

    def release_soon() -> None:
        time.sleep(0.5)
        released.set()
        holder.release()

    threading.Thread(target=release_soon).start()
    outcome = runner.run(spec, DAY, trigger="manual", wait=True)
    assert released.is_set()
    assert outcome.status == "succeeded"


def test_a_row_left_running_by_a_dead_owner_is_closed_by_the_next_run(runner: JobRunner) -> None:
    stale = runner.history.open_run(
        "fault_marker", DAY, dt.datetime(2025, 1, 13, 9, tzinfo=dt.UTC),
        trigger="scheduled", pid=999_999, host="gone",
    )  # fmt: skip
    runner.run(lookup("fault_marker"), DAY, trigger="manual")
    row = runner.history.get(stale)
    assert row is not None and row.status == "failed"
    assert row.error is not None and "process 999999 on host gone ended without" in row.error


def test_stopping_terminates_the_child_after_the_stop_deadline(
    settings: Settings, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBAPROPS_FAULT_SLEEP_SECONDS", "60")
    scheduler = kit.scheduler_settings(stop_deadline_seconds=0.5, kill_grace_seconds=2)
    runner = JobRunner(settings, scheduler, state_engine(settings))
    runner.history.ensure_schema()
    threading.Timer(1.0, runner.stopping.set).start()
    outcome = runner.run(lookup("fault_sleep"), DAY, trigger="scheduled")
    assert outcome.status == "terminated"
    assert outcome.error is not None and "0.5 s stop deadline" in outcome.error
    assert [line.split()[2] for line in kit.markers()] == ["sleep-started"]
