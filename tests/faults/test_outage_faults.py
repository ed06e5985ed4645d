"""Stores that go away: a real `mlflow server` killed with SIGKILL, a state database nobody
listens for. Every job fails naming the store, its history row says failed, and the next run,
once the store is back, succeeds; the invariants hold after each (no RUNNING run, one
Production version, nothing lost). An outage is never read as "no Production model".
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from nbaprops.tracking.outage import StoreUnavailableError
from tests.support.sqlite_lock import ExclusiveLock

DAY = "2025-01-13"


def _names_the_store(error: str | None, url: str) -> bool:
    return f"the MLflow tracking store {url} is unavailable" in (error or "")


def test_the_scoring_and_drift_jobs_fail_naming_a_dead_tracking_server_then_recover(
    remote: Any, health: Any, scenario: Callable[[str], None]
) -> None:
    scenario("the tracking server is down when the scoring and drift jobs start")
    cli, server = remote.cli, remote.server
    server.kill()
    for job in ("ingest", "drift_check"):
        failed = cli.invoke("jobs", "run", job, "--date", DAY)
        assert failed.exit_code == 1, failed.output
        assert _names_the_store(failed.stderr, server.url), failed.stderr
    rows = health.history()
    assert [(r.job, r.status) for r in rows] == [("ingest", "failed"), ("drift_check", "failed")]
    for row in rows:
        assert _names_the_store(row.error, server.url), row.error
        assert "no Production model" not in row.error
    health.assert_healthy(production="1")

    server.start()  # the next trigger retries, and works
    for job in ("ingest", "drift_check"):
        ok = cli.invoke("jobs", "run", job, "--date", DAY, "--json")
        assert ok.exit_code == 0, ok.output
        assert "no Production model" not in json.dumps(json.loads(ok.stdout)["summary"])
    assert [r.status for r in health.history()] == ["failed", "failed", "succeeded", "succeeded"]
    health.assert_healthy(production="1")


def test_a_tracking_server_killed_under_a_job_is_an_error_not_a_missing_model(
    remote: Any, health: Any, scenario: Callable[[str], None]
) -> None:
    scenario("the tracking server dies after a job connected (scoring, drift, evidence)")
    from governance.evidence import version_evidence
    from jobs.loop.context import job_context
    from jobs.loop.drift_watch import check_drift
    from jobs.loop.scoring import ingest_day

    ctx = job_context(remote.settings, dt.date.fromisoformat(DAY))  # connected, store up
    remote.server.kill()
    for body in (
        lambda: ingest_day(ctx),
        lambda: check_drift(ctx),
        lambda: version_evidence(ctx.client, ctx.model_name, "1"),
    ):
        with pytest.raises(StoreUnavailableError) as raised:
            body()
        assert _names_the_store(str(raised.value), remote.server.url)
    health.assert_healthy(production="1")


def test_a_tracking_server_killed_mid_retrain_fails_the_job_and_the_retry_registers_once(
    remote: Any, health: Any, poll: Callable[..., Any], scenario: Callable[[str], None]
) -> None:
    scenario("the tracking server is killed in the middle of a retrain")
    cli, server = remote.cli, remote.server
    versions = [v.version for v in health.versions()]
    audit = health.audit_actions()

    job = cli.popen("jobs", "run", "nightly_retrain", "--date", DAY, log="retrain.log")
    try:
        (running,) = poll(lambda: health.runs("RUNNING"), "the retrain's MLflow run to open",
                          log=cli.folder / "retrain.log")  # fmt: skip
        server.kill()
        assert job.wait(timeout=120) == 1, (cli.folder / "retrain.log").read_text()
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
    (row,) = health.history("nightly_retrain")
    assert row.status == "failed"
    assert _names_the_store(row.error, server.url), row.error
    assert [v.version for v in health.versions()] == versions  # nothing half-registered
    assert health.audit_actions() == audit
    assert health.runs("RUNNING")[0].info.run_id == running.info.run_id  # nobody could end it

    server.start()
    retried = cli.invoke("jobs", "run", "nightly_retrain", "--date", DAY, "--json")
    assert retried.exit_code == 0, retried.output
    assert retried.stdout.strip().startswith("{"), (retried.stdout, retried.stderr)
    summary = json.loads(retried.stdout)["summary"]
    assert [v.version for v in health.versions()] == [*versions, summary["version"]]
    assert health.client.get_run(running.info.run_id).info.status == "FAILED"  # closed by the retry
    assert [r.status for r in health.history("nightly_retrain")] == ["failed", "succeeded"]
    assert health.audit_actions()[: len(audit)] == audit  # nothing lost
    assert health.audit_actions(summary["version"])[0] == "register"
    health.assert_healthy(production="1")


def test_the_scheduler_refuses_to_start_on_an_unreachable_state_database(
    nbaprops: Any, health: Any, scenario: Callable[[str], None]
) -> None:
    scenario("the state database is unreachable when the scheduler starts")
    from tests.support.tracking_server import free_port

    url = f"postgresql+psycopg://nbaprops:s3cret-pw@127.0.0.1:{free_port()}/state"
    before = sorted(
        p.relative_to(nbaprops.settings.home) for p in nbaprops.settings.home.rglob("*")
    )
    started = subprocess.run(
        nbaprops.command("scheduler", "start"),
        env=nbaprops.env(NBAPROPS_DATABASE_URL=url, NBAPROPS_JOBS="fault_marker",
                         NBAPROPS_SCHEDULE_FAULT_MARKER="* * * * *"),
        cwd=nbaprops.folder, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert started.returncode == 4, started.stderr
    masked = url.replace("s3cret-pw", "********")
    assert f"error: the state database {masked} cannot be reached" in started.stderr
    assert "Connection refused" in started.stderr and "NBAPROPS_DATABASE_URL" in started.stderr
    assert "Traceback" not in started.stderr and "s3cret-pw" not in started.stderr
    after = sorted(p.relative_to(nbaprops.settings.home) for p in nbaprops.settings.home.rglob("*"))
    assert after == before  # no half-state: no lock, no job store, no heartbeat, no run
    assert health.history() == []
    health.assert_healthy(production="1")


def test_a_tracking_store_locked_past_its_timeout_fails_the_job_naming_it_then_recovers(
    settings: Any, health: Any, scenario: Callable[[str], None]
) -> None:
    scenario("the SQLite tracking store is locked past its busy timeout during a job")
    from dataclasses import replace

    from jobs.daemon.catalogue import lookup
    from jobs.daemon.runner import JobRunner
    from jobs.daemon.schedule_settings import SchedulerSettings
    from nbaprops.statedb import state_engine

    store = settings.home / "mlflow.db"
    runner = JobRunner(settings, SchedulerSettings(_env_file=None), state_engine(settings))  # type: ignore[call-arg]
    drift_check = replace(lookup("drift_check"), heavy=False)  # in this process, as the replay
    with ExclusiveLock(store) as lock:
        failed = runner.run(drift_check, dt.date.fromisoformat(DAY), trigger="manual")
        assert lock.held()  # the lock was held for the whole run
        lock.release(timeout=30)
    assert failed.status == "failed"
    assert _names_the_store(failed.error, settings.resolved_tracking_uri), failed.error
    assert "database is locked" in (failed.error or "")
    (row,) = health.history("drift_check")
    assert (row.status, row.error) == ("failed", failed.error)
    assert "no Production model" not in (row.error or "")

    retried = runner.run(drift_check, dt.date.fromisoformat(DAY), trigger="manual")
    assert retried.status == "succeeded", retried.error
    assert "no Production model" not in json.dumps(retried.summary)
    assert [r.status for r in health.history("drift_check")] == ["failed", "succeeded"]
    health.assert_healthy(production="1")
