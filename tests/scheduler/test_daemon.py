"""The daemon as a real subprocess on a real SQLite job store, driven by the fault jobs: what
only a process shows (restarts, signals, kill -9, a second daemon, start-up errors). Which
runs fire when is checked on a simulated clock in test_daemon_schedule.py."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa

from jobs.daemon.history import JobHistory
from jobs.daemon.status import stored_next_runs

Spawn = Callable[[dict[str, str]], Any]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_jobs_persist_across_restarts_and_follow_the_declared_schedule(
    kit: Any, state: Any, spawn_daemon: Spawn
) -> None:
    def run_daemon_once(scheduler: Any) -> dict[str, Any]:
        daemon = spawn_daemon(kit.env(scheduler))

        def beating() -> bool:
            beat = state.history.read_heartbeat()
            return beat is not None and beat.pid == daemon.pid

        daemon.wait_for(beating, "a heartbeat")
        assert daemon.stop() == 0
        return stored_next_runs(state.engine)

    nightly = kit.scheduler_settings(jobs="fault_marker", schedules={"fault_marker": "0 3 * * *"})
    first = run_daemon_once(nightly)
    assert list(first) == ["fault_marker"]
    assert (first["fault_marker"].hour, first["fault_marker"].minute) == (3, 0)

    # A pending run time that the trigger would never compute on its own survives a restart.
    pending = (_now() + dt.timedelta(days=2, minutes=17)).replace(second=0, microsecond=0)
    kit.seed(nightly, {"fault_marker": pending})
    assert run_daemon_once(nightly) == {"fault_marker": pending}

    # A changed schedule reschedules; a job no longer declared is removed.
    moved = kit.scheduler_settings(
        jobs="fault_marker,fault_marker_light",
        schedules={"fault_marker": "0 4 * * *", "fault_marker_light": "0 5 * * *"},
    )
    after = run_daemon_once(moved)
    assert sorted(after) == ["fault_marker", "fault_marker_light"]
    assert after["fault_marker"].hour == 4
    only_light = kit.scheduler_settings(
        jobs="fault_marker_light", schedules={"fault_marker_light": "0 5 * * *"}
    )
    assert list(run_daemon_once(only_light)) == ["fault_marker_light"]
    assert state.rows() == []  # nothing ran


def test_a_manual_trigger_is_refused_while_the_daemon_runs_the_job(
    kit: Any, state: Any, spawn_daemon: Spawn
) -> None:
    scheduler, _ = kit.caught_up("fault_sleep", stop_deadline_seconds=0)
    env = kit.env(scheduler, NBAPROPS_FAULT_SLEEP_SECONDS=600)  # runs until the daemon stops
    daemon = spawn_daemon(env)
    daemon.wait_for(lambda: state.statuses("fault_sleep") == ["running"], "the scheduled run")

    refused = kit.invoke(env, "jobs", "run", "fault_sleep")
    assert refused.exit_code == 3, refused.output
    assert "fault_sleep is already running" in refused.stderr
    assert f"by pid {daemon.pid}" in refused.stderr
    assert "--wait" in refused.stderr
    # A waiting trigger runs once the scheduled run has let go of the job, whenever that is.
    quick = {**env, "NBAPROPS_FAULT_SLEEP_SECONDS": "0"}
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(kit.cli, quick, "jobs", "run", "fault_sleep", "--wait", "--json")
        assert daemon.stop() == 0
        waited = waiting.result()
    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout)["status"] == "succeeded"

    scheduled, manual = state.rows("fault_sleep")
    assert (scheduled.trigger, scheduled.status) == ("scheduled", "terminated")
    assert (manual.trigger, manual.status) == ("manual", "succeeded")
    assert manual.started_at >= scheduled.ended_at


def test_sigterm_during_a_job_stops_it_at_the_deadline_and_exits_0(
    kit: Any, state: Any, spawn_daemon: Spawn
) -> None:
    scheduler, _ = kit.caught_up("fault_sleep", stop_deadline_seconds=1, kill_grace_seconds=2)
    daemon = spawn_daemon(kit.env(scheduler, NBAPROPS_FAULT_SLEEP_SECONDS=60))
    daemon.wait_for(kit.sleep_started, "the job to start")

    assert daemon.stop(signal.SIGTERM) == 0
    (row,) = state.rows("fault_sleep")
    assert row.status == "terminated"
    assert "1 s stop deadline" in row.error
    assert [m.split()[2] for m in kit.markers()] == ["sleep-started"]
    child = int(kit.markers()[0].split()[1])
    assert not kit.pid_alive(child)
    assert state.history.read_heartbeat().state == "stopped"


def test_sigterm_lets_a_job_that_finishes_in_time_succeed(
    kit: Any, state: Any, spawn_daemon: Spawn
) -> None:
    scheduler, _ = kit.caught_up("fault_sleep", stop_deadline_seconds=30)
    daemon = spawn_daemon(kit.env(scheduler, NBAPROPS_FAULT_SLEEP_SECONDS=1.5))
    daemon.wait_for(kit.sleep_started, "the job to start")

    assert daemon.stop(signal.SIGINT) == 0
    assert state.statuses("fault_sleep") == ["succeeded"]


def test_after_kill_9_the_child_stops_and_the_next_start_closes_its_row(
    kit: Any, state: Any, spawn_daemon: Spawn
) -> None:
    scheduler, _ = kit.caught_up("fault_sleep")
    env = kit.env(scheduler, NBAPROPS_FAULT_SLEEP_SECONDS=60)
    daemon = spawn_daemon(env)
    daemon.wait_for(kit.sleep_started, "the job to start")
    child = int(kit.markers()[0].split()[1])

    assert daemon.stop(signal.SIGKILL) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while kit.pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not kit.pid_alive(child), "the orphaned job process kept running"
    assert state.statuses("fault_sleep") == ["running"]  # nobody closed it yet

    restarted = spawn_daemon(env)
    restarted.wait_for(lambda: state.statuses("fault_sleep") == ["failed"], "the stale row closed")
    assert restarted.stop() == 0
    (row,) = state.rows("fault_sleep")
    assert f"process {daemon.pid}" in row.error
    assert "ended without closing this run" in row.error


def test_a_second_daemon_on_the_same_store_is_refused(
    kit: Any, state: Any, spawn_daemon: Spawn
) -> None:
    scheduler = kit.scheduler_settings(jobs="fault_marker", schedules={"fault_marker": "0 3 * * *"})
    env = kit.env(scheduler)
    daemon = spawn_daemon(env)
    daemon.wait_for(lambda: state.history.read_heartbeat() is not None, "a heartbeat")
    second = kit.cli(env, "scheduler", "start")
    assert second.returncode == 3
    assert "already runs on this state database" in second.stderr
    assert f"pid {daemon.pid}" in second.stderr
    assert daemon.stop() == 0


def test_an_invalid_cron_stops_start_up_with_exit_2(kit: Any, state: Any) -> None:
    scheduler = kit.scheduler_settings(
        jobs="fault_marker", schedules={"fault_marker": "61 3 * * *"}
    )
    result = kit.cli(kit.env(scheduler), "scheduler", "start")
    assert result.returncode == 2
    assert "NBAPROPS_SCHEDULE_FAULT_MARKER='61 3 * * *' is not a valid cron" in result.stderr
    assert not sa.inspect(state.engine).has_table("apscheduler_jobs")


@pytest.mark.postgres
def test_on_postgresql_the_store_history_and_advisory_lock_work_end_to_end(
    kit: Any, postgres_url: str, spawn_daemon: Spawn
) -> None:
    pg = kit.on_database(postgres_url)
    scheduler, fired = pg.caught_up("fault_sleep", stop_deadline_seconds=0)
    env = pg.env(scheduler, NBAPROPS_FAULT_SLEEP_SECONDS=600)  # runs until the daemon stops
    engine = sa.create_engine(postgres_url)
    history = JobHistory(engine)
    try:
        daemon = spawn_daemon(env)

        def statuses() -> list[str]:
            if not sa.inspect(engine).has_table("job_history"):
                return []
            return [row.status for row in history.recent("fault_sleep")]

        daemon.wait_for(lambda: statuses() == ["running"], "the caught-up run")
        refused = pg.invoke(env, "jobs", "run", "fault_sleep")
        assert refused.exit_code == 3, refused.output
        assert not (pg.settings.home / "locks" / "job-fault_sleep.lock").exists()
        assert daemon.stop() == 0
        assert statuses() == ["terminated"]
        assert stored_next_runs(engine)["fault_sleep"] == fired + dt.timedelta(days=1)
        beat = history.read_heartbeat()
        assert beat is not None and (beat.pid, beat.state) == (daemon.pid, "stopped")
    finally:
        engine.dispose()


def test_a_stuck_job_thread_does_not_keep_the_daemon_from_exiting(
    kit: Any, state: Any, spawn_daemon: Spawn
) -> None:
    scheduler, _ = kit.caught_up(
        "fault_hang_light", stop_deadline_seconds=0.5, kill_grace_seconds=0
    )
    daemon = spawn_daemon(kit.env(scheduler))
    daemon.wait_for(lambda: state.statuses("fault_hang_light") == ["running"], "the job to start")

    assert daemon.stop() == 0
    (row,) = state.rows("fault_hang_light")
    assert row.status == "terminated"
    assert "in-process job did not finish within the 0.5 s stop deadline" in row.error
    assert state.history.read_heartbeat().state == "stopped"


def test_mlflow_runs_left_running_by_a_killed_daemon_are_failed_at_the_next_start(
    kit: Any, state: Any, spawn_daemon: Spawn, tracking: Any
) -> None:
    scheduler, _ = kit.caught_up("fault_hang_in_run")
    env = kit.env(scheduler, NBAPROPS_FAULT_HANG_IGNORES_SIGTERM="true")
    daemon = spawn_daemon(env)
    opened = daemon.wait_for(
        lambda: [m for m in kit.markers() if "run-opened" in m], "the job's MLflow run", 40
    )
    _, child, _, run_id = opened[0].split()
    # The machine goes down: the daemon and its job die without any clean-up.
    os.kill(int(child), signal.SIGKILL)
    assert daemon.stop(signal.SIGKILL) == -signal.SIGKILL
    assert tracking.get_run(run_id).info.status == "RUNNING"

    restarted = spawn_daemon(env)
    restarted.wait_for(lambda: state.statuses("fault_hang_in_run") == ["failed"], "the row closed")
    restarted.wait_for(
        lambda: tracking.get_run(run_id).info.status == "FAILED", "the run marked FAILED"
    )
    assert restarted.stop() == 0
