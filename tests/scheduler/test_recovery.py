"""Cleaning up after killed processes: history rows and MLflow runs, on a real MLflow store."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from jobs.daemon.catalogue import lookup
from jobs.daemon.locks import job_lock
from jobs.daemon.recovery import (
    RUN_TAG_DAEMON,
    RUN_TAG_JOB_RUN,
    close_dead_runs,
    fail_orphaned_runs,
    tracking_store_exists,
)
from jobs.daemon.runner import JobRunner
from nbaprops.settings import Settings
from nbaprops.statedb import state_engine
from nbaprops.tracking.setup import MONITORING_EXPERIMENT, PHASES

DAY = dt.date(2025, 1, 13)
T0 = dt.datetime(2025, 1, 13, 9, tzinfo=dt.UTC)


@pytest.fixture
def runner(settings: Settings, kit: Any) -> JobRunner:
    runner = JobRunner(
        settings, kit.scheduler_settings(kill_grace_seconds=1), state_engine(settings)
    )
    runner.history.ensure_schema()
    return runner


def test_rows_whose_lock_is_free_are_closed_and_held_ones_kept(
    runner: JobRunner, settings: Settings
) -> None:
    history = runner.history
    dead = history.open_run("fault_marker", DAY, T0, trigger="scheduled", pid=4242, host="h1")
    alive = history.open_run("fault_sleep", DAY, T0, trigger="manual", pid=4343, host="h2")
    holder = job_lock(settings, runner.engine, "fault_sleep")
    assert holder.try_acquire()
    try:
        assert close_dead_runs(settings, runner.engine, history, T0) == [dead]
    finally:
        holder.release()
    closed, kept = history.get(dead), history.get(alive)
    assert closed is not None and closed.status == "failed" and closed.ended_at == T0
    assert closed.error is not None and "process 4242 on host h1" in closed.error
    assert kept is not None and kept.status == "running"


def test_without_a_tracking_store_there_is_nothing_to_clean(
    runner: JobRunner, settings: Settings
) -> None:
    assert not tracking_store_exists(settings)
    assert fail_orphaned_runs(settings, runner.history, T0, daemon_identity="h:1",
                              untagged_min_age_seconds=3600) == []  # fmt: skip
    assert not tracking_store_exists(settings)  # and none was created


def test_orphaned_mlflow_runs_are_failed_and_live_ones_kept(
    runner: JobRunner, settings: Settings, tracking: Any
) -> None:
    client = tracking
    assert tracking_store_exists(settings)
    phase = client.get_experiment_by_name(PHASES[0].experiment)
    assert phase is not None
    history = runner.history
    dead_row = history.open_run("nightly_retrain", DAY, T0, trigger="scheduled", pid=1, host="h")
    history.close_run(dead_row, T0, "failed", error="killed")
    live_row = history.open_run("backtest", DAY, T0, trigger="scheduled", pid=2, host="h")
    now = dt.datetime.now(dt.UTC)
    now_ms = int(now.timestamp() * 1000)

    def running(tags: dict[str, str], age_hours: float = 0.0, experiment: str | None = None) -> str:
        start = now_ms - int(age_hours * 3600 * 1000)
        run = client.create_run(experiment or phase.experiment_id, start_time=start, tags=tags)
        return str(run.info.run_id)

    orphans = {
        running({RUN_TAG_JOB_RUN: str(dead_row)}),
        running({RUN_TAG_DAEMON: "old-host:123"}),
        running({}, age_hours=30),
    }
    survivors = {
        running({RUN_TAG_JOB_RUN: str(live_row)}),
        running({RUN_TAG_DAEMON: "this-host:1"}),
        running({}, age_hours=1),
        running({}, age_hours=30, experiment="0"),  # Default: not the project's
    }
    failed = fail_orphaned_runs(settings, history, now, daemon_identity="this-host:1",
                                untagged_min_age_seconds=24 * 3600)  # fmt: skip
    assert set(failed) == orphans
    for run_id in orphans:
        assert client.get_run(run_id).info.status == "FAILED"
    for run_id in survivors:
        assert client.get_run(run_id).info.status == "RUNNING"


@pytest.mark.parametrize("ignores_sigterm", [False, True])
def test_a_stopped_job_never_leaves_its_mlflow_run_running(
    runner: JobRunner, settings: Settings, kit: Any, monkeypatch: pytest.MonkeyPatch,
    tracking: Any, ignores_sigterm: bool,
) -> None:  # fmt: skip
    """SIGTERM ends the run through its `with` block; after SIGKILL the runner fails it."""
    client = tracking
    monkeypatch.setenv("NBAPROPS_FAULT_HANG_IGNORES_SIGTERM", str(ignores_sigterm).lower())

    def stop_once_the_run_is_open() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("run-opened" in m for m in kit.markers()):
            time.sleep(0.05)
        runner.hurry.set()

    threading.Thread(target=stop_once_the_run_is_open).start()
    outcome = runner.run(lookup("fault_hang_in_run"), DAY, trigger="manual")
    assert outcome.status == "terminated"
    (marker,) = kit.markers()
    run = client.get_run(marker.split()[3])
    assert run.info.status == "FAILED"
    assert run.data.tags[RUN_TAG_JOB_RUN] == str(outcome.history_id)
    assert run.data.tags["nbaprops.job"] == "fault_hang_in_run"
    monitoring = client.get_experiment_by_name(MONITORING_EXPERIMENT)
    assert monitoring is not None
    still_running = MlflowClient(settings.resolved_tracking_uri).search_runs(
        [monitoring.experiment_id], "attributes.status = 'RUNNING'"
    )
    assert still_running == []
