"""`jobs list`, `jobs run`, `status` through click's runner: output and exit codes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from jobs.daemon import status as status_module
from jobs.daemon.child import child_environment
from jobs.daemon.history import Heartbeat, JobHistory
from jobs.daemon.recovery import RUN_CONTEXT_VARIABLE
from nbaprops.settings import Settings
from nbaprops.statedb import state_engine


@pytest.fixture
def env(kit: Any) -> dict[str, str]:
    return kit.env(kit.scheduler_settings(heartbeat_stale_seconds=60))


@pytest.fixture
def extension() -> Iterator[None]:
    status_module.register_status_extension("outbox", lambda settings: {"waiting": 2})
    status_module.register_status_extension("drift", lambda settings: 1 / 0)  # type: ignore[arg-type,return-value]
    yield
    status_module._EXTENSIONS.clear()


def _beat(settings: Settings, age_seconds: float, state: str = "running") -> None:
    history = JobHistory(state_engine(settings))
    history.ensure_schema()
    now = dt.datetime.now(dt.UTC)
    at = now - dt.timedelta(seconds=age_seconds)
    history.write_heartbeat(Heartbeat(at, at - dt.timedelta(hours=1), 77, "box", state))


def test_jobs_list_before_any_daemon_computes_next_runs(kit: Any, env: dict[str, str]) -> None:
    result = kit.invoke(env, "jobs", "list", "--json")
    assert result.exit_code == 0, result.output
    jobs = {job["name"]: job for job in json.loads(result.stdout)}
    assert list(jobs)[:8] == [
        "fetch", "ingest", "nightly_retrain", "backtest", "evaluate_promotion", "drift_check",
        "weekly_report", "outbox_retry",
    ]  # fmt: skip
    assert jobs["weekly_report"]["schedule"] == "0 15 * * mon"
    assert jobs["weekly_report"]["next_run_source"] == "cron"
    assert dt.datetime.fromisoformat(jobs["weekly_report"]["next_run"]).weekday() == 0
    assert jobs["ingest"]["last"] is None
    table = kit.invoke(env, "jobs", "list")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0].split()[:4] == ["job", "schedule", "kind", "next_run"]


def test_jobs_run_exit_codes(kit: Any, env: dict[str, str]) -> None:
    ok = kit.invoke(env, "jobs", "run", "ingest", "--date", "2025-01-13", "--json")
    assert ok.exit_code == 0, ok.output
    outcome = json.loads(ok.stdout)
    assert outcome["status"] == "succeeded"
    assert outcome["summary"]["note"] == "no Production model yet"
    failed = kit.invoke(env, "jobs", "run", "fault_raise")
    assert failed.exit_code == 1
    assert "InjectedFault" in failed.stderr
    unknown = kit.invoke(env, "jobs", "run", "retrain")
    assert unknown.exit_code == 2
    assert "no job named 'retrain'; declared jobs: fetch, ingest" in unknown.stderr
    bad_date = kit.invoke(env, "jobs", "run", "ingest", "--date", "13/01/2025")
    assert bad_date.exit_code == 2
    assert "use YYYY-MM-DD" in bad_date.stderr
    listed = {j["name"]: j for j in json.loads(kit.invoke(env, "jobs", "list", "--json").stdout)}
    assert listed["ingest"]["last"]["status"] == "succeeded"
    assert listed["ingest"]["last"]["run_for"] == "2025-01-13"
    assert listed["fault_raise"]["last"]["status"] == "failed"  # shown: it has history


def test_bad_settings_exit_2_naming_the_variable(kit: Any, env: dict[str, str]) -> None:
    bad_cron = {**env, "NBAPROPS_SCHEDULE_INGEST": "0 25 * * *"}
    result = kit.invoke(bad_cron, "jobs", "list")
    assert result.exit_code == 2
    assert "NBAPROPS_SCHEDULE_INGEST='0 25 * * *'" in result.stderr
    retrain_first = {**env, "NBAPROPS_SCHEDULE_NIGHTLY_RETRAIN": "0 8 * * *"}
    result = kit.invoke(retrain_first, "jobs", "list")
    assert result.exit_code == 2
    assert "NBAPROPS_SCHEDULE_NIGHTLY_RETRAIN='0 8 * * *' runs nightly_retrain" in result.stderr
    assert "not after ingest (NBAPROPS_SCHEDULE_INGEST=" in result.stderr  # the nearest need
    bad_number = {**env, "NBAPROPS_MISFIRE_GRACE_SECONDS": "six hours"}
    result = kit.invoke(bad_number, "status")
    assert result.exit_code == 2
    assert "NBAPROPS_MISFIRE_GRACE_SECONDS" in result.stderr


@pytest.mark.parametrize(
    ("age", "state", "exit_code", "shown"),
    [
        (5, "running", 0, "running"),
        (600, "running", 1, "stale"),
        (5, "stopped", 1, "stopped"),
        (None, None, 1, "never started"),
    ],
)
def test_status_check_is_a_health_check_on_the_heartbeat(
    kit: Any, env: dict[str, str], settings: Settings, age: float | None, state: str | None,
    exit_code: int, shown: str,
) -> None:  # fmt: skip
    if age is not None and state is not None:
        _beat(settings, age, state)
    result = kit.invoke(env, "status", "--check")
    assert result.exit_code == exit_code
    assert result.stdout.strip() == f"scheduler: {shown}"


@pytest.mark.usefixtures("extension")
def test_status_shows_daemon_jobs_and_extension_sections(
    kit: Any, env: dict[str, str], settings: Settings
) -> None:
    _beat(settings, 3)
    result = kit.invoke(env, "status", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["daemon"]["alive"] is True
    assert (report["daemon"]["pid"], report["daemon"]["host"]) == (77, "box")
    assert len(report["jobs"]) == 8
    assert report["outbox"] == {"waiting": 2}
    assert report["drift"]["error"].startswith("ZeroDivisionError")
    text = kit.invoke(env, "status")
    assert text.exit_code == 0
    assert text.stdout.startswith("scheduler: running (pid 77 on box")
    assert "outbox:\n  waiting: 2" in text.stdout
    with pytest.raises(ValueError, match="taken"):
        status_module.register_status_extension("jobs", lambda settings: {})


def test_the_child_gets_the_parents_exact_settings(settings: Settings) -> None:
    parent = settings.model_copy(
        update={"smtp_password": SecretStr("s3cret"), "tracking_uri": "sqlite:////tmp/x.db"}
    )
    base = {"PATH": "/bin", "MLFLOW_TRACKING_URI": "sqlite:////elsewhere.db",
            "NBAPROPS_DATABASE_URL": "sqlite:////elsewhere/state.db"}  # fmt: skip
    env = child_environment(parent, base, {"nbaprops.job_run": "12"})
    assert env["NBAPROPS_HOME"] == str(settings.home.resolve())
    assert (env["NBAPROPS_TEAMS"], env["NBAPROPS_SEED"]) == ("6", "7")
    assert env["NBAPROPS_SMTP_PASSWORD"] == "s3cret"
    assert env["MLFLOW_TRACKING_URI"] == "sqlite:////tmp/x.db"
    assert "NBAPROPS_DATABASE_URL" not in env  # None in the parent: not inherited either
    assert json.loads(env[RUN_CONTEXT_VARIABLE]) == {"nbaprops.job_run": "12"}
    assert env["PATH"] == "/bin"
