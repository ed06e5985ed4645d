"""A job that raises, a job that hangs past its timeout, a state database locked at start.

Each runs through `nbaprops jobs run` (the job itself in a child process, as the daemon runs
it) and then checks the state it leaves: MLflow runs closed, registry consistent with version
1 still in production, the history row that says what happened, and the next run working.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.support.sqlite_lock import ExclusiveLock

DAY = "2025-01-13"


def test_a_job_raising_mid_training_fails_its_run_and_the_next_one_succeeds(
    nbaprops: Any, health: Any, scenario: Callable[[str], None]
) -> None:
    scenario("a job raises inside its MLflow run (real nightly_retrain, bad objective)")
    versions = [v.version for v in health.versions()]
    bad = "n_estimators=30,objective=reg:nonsense"  # passes the syntax check, fails the fit

    failed = nbaprops.invoke("jobs", "run", "nightly_retrain", "--date", DAY,
                             NBAPROPS_RETRAIN_PARAMS=bad)  # fmt: skip
    assert failed.exit_code == 1, failed.output
    (row,) = health.history("nightly_retrain")
    assert (row.status, row.trigger, str(row.run_for)) == ("failed", "manual", DAY)
    assert "reg:nonsense" in row.error and "log:" in row.error
    (run,) = health.runs(extra=f"tags.`nbaprops.job_run` = '{row.id}'")
    assert run.info.status == "FAILED"
    assert [v.version for v in health.versions()] == versions  # nothing registered
    health.assert_healthy(production="1")

    ok = nbaprops.invoke("jobs", "run", "nightly_retrain", "--date", DAY, "--json")
    assert ok.exit_code == 0, ok.output
    summary = json.loads(ok.stdout)["summary"]
    assert summary["version"] == str(len(versions) + 1)
    assert [r.status for r in health.history("nightly_retrain")] == ["failed", "succeeded"]
    health.assert_healthy(production="1")
    assert health.audit_actions(summary["version"])[0] == "register"


def test_a_job_hanging_in_an_mlflow_run_is_stopped_at_its_timeout(
    nbaprops: Any, health: Any, processes: Any, scenario: Callable[[str], None]
) -> None:
    scenario("a job hangs past its timeout with an MLflow run open")
    hung = nbaprops.invoke(
        "jobs", "run", "fault_hang_in_run", "--date", DAY,
        NBAPROPS_TIMEOUT_FAULT_HANG_IN_RUN=10, NBAPROPS_KILL_GRACE_SECONDS=1,
        NBAPROPS_FAULT_HANG_IGNORES_SIGTERM="true",
    )  # fmt: skip
    assert hung.exit_code == 1, hung.output
    assert "exceeded its 10 s timeout" in hung.stderr
    (row,) = health.history("fault_hang_in_run")
    assert row.status == "timeout"
    markers = (nbaprops.settings.home / "fault-markers.log").read_text().split()
    assert markers[2] == "run-opened", "the job was stopped before it opened its run"
    child, run_id = int(markers[1]), markers[3]
    assert not processes.alive(child)  # it ignored SIGTERM, so it got SIGKILL
    run = health.client.get_run(run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["nbaprops.job_run"] == str(row.id)
    health.assert_healthy(production="1")

    after = nbaprops.invoke("jobs", "run", "fault_marker", "--date", DAY)  # the lock is free
    assert after.exit_code == 0, after.output
    assert [r.status for r in health.history()] == ["timeout", "succeeded"]


def test_a_job_starting_while_the_state_db_is_locked_waits_and_succeeds(
    nbaprops: Any, health: Any, scenario: Callable[[str], None]
) -> None:
    scenario("the state database is locked when a job starts")
    settings = nbaprops.settings
    markers = settings.home / "fault-markers.log"
    database = settings.home / "state.db"
    with ExclusiveLock(database, 2, count_rows_of="job_history", watch=markers) as lock:
        result = nbaprops.invoke("jobs", "run", "fault_marker", "--date", DAY, "--json")
        released = lock.release(timeout=30)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "succeeded"
    assert (released.rows, released.existed) == (0, False)  # no row, no run while locked
    (row,) = health.history("fault_marker")
    assert row.status == "succeeded"
    assert row.started_at >= released.at  # it waited
    assert len(markers.read_text().splitlines()) == 1
    health.assert_healthy(production="1")
