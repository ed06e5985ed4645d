"""Reconciling declared jobs with a real SQLite job store, without losing pending runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from jobs.daemon.catalogue import planned_jobs
from jobs.daemon.reconcile import HEAVY_EXECUTOR, LIGHT_EXECUTOR, RUN_SCHEDULED_REF, reconcile
from jobs.daemon.status import stored_next_runs
from nbaprops.settings import Settings

PAST = dt.datetime(2025, 1, 10, 3, 0, tzinfo=dt.UTC)


@pytest.fixture
def engine(settings: Settings) -> Iterator[sa.Engine]:
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(settings.resolved_database_url)
    yield engine
    engine.dispose()


def _reconcile(kit: Any, engine: sa.Engine, scheduler_settings: Any) -> dict[str, list[str]]:
    """One daemon start's reconciliation, on a scheduler that never runs jobs."""
    editor = kit.store_editor(engine, scheduler_settings.timezone)
    try:
        report = reconcile(
            editor, planned_jobs(scheduler_settings), scheduler_settings.misfire_grace_seconds
        )
        return report.to_dict()
    finally:
        editor.shutdown(wait=False)


def _set_next_run(kit: Any, engine: sa.Engine, job: str, when: dt.datetime) -> None:
    editor = kit.store_editor(engine)
    try:
        editor.modify_job(job, jobstore="default", next_run_time=when)
    finally:
        editor.shutdown(wait=False)


def _stored(kit: Any, engine: sa.Engine) -> dict[str, Any]:
    editor = kit.store_editor(engine)
    try:
        return {job.id: job for job in editor.get_jobs(jobstore="default")}
    finally:
        editor.shutdown(wait=False)


def test_first_start_adds_every_declared_job_with_the_daemon_defaults(
    kit: Any, engine: sa.Engine
) -> None:
    report = _reconcile(kit, engine, kit.scheduler_settings())
    assert report["added"] == [
        "fetch", "ingest", "nightly_retrain", "backtest", "evaluate_promotion", "drift_check",
        "weekly_report", "outbox_retry",
    ]  # fmt: skip
    jobs = _stored(kit, engine)
    retrain = jobs["nightly_retrain"]
    assert retrain.func_ref == RUN_SCHEDULED_REF
    assert retrain.kwargs == {"job_name": "nightly_retrain"}
    assert (retrain.coalesce, retrain.max_instances, retrain.misfire_grace_time) == (True, 1, 21600)
    assert retrain.executor == HEAVY_EXECUTOR
    assert jobs["outbox_retry"].executor == LIGHT_EXECUTOR


def test_an_unchanged_job_keeps_its_pending_run(kit: Any, engine: sa.Engine) -> None:
    declared = kit.scheduler_settings()
    _reconcile(kit, engine, declared)
    _set_next_run(kit, engine, "ingest", PAST)  # came due while the daemon was down
    report = _reconcile(kit, engine, declared)
    assert report["added"] == report["rescheduled"] == report["refreshed"] == []
    assert len(report["kept"]) == 8
    assert stored_next_runs(engine)["ingest"] == PAST


def test_changed_options_keep_the_pending_run_and_a_changed_trigger_reschedules(
    kit: Any, engine: sa.Engine
) -> None:
    _reconcile(kit, engine, kit.scheduler_settings())
    _set_next_run(kit, engine, "ingest", PAST)
    _set_next_run(kit, engine, "backtest", PAST)
    changed = kit.scheduler_settings(misfire_grace_seconds=60, schedules={"backtest": "0 13 * * *"})
    report = _reconcile(kit, engine, changed)
    assert report["rescheduled"] == ["backtest"]
    assert "ingest" in report["refreshed"]
    jobs = _stored(kit, engine)
    assert jobs["ingest"].next_run_time == PAST
    assert jobs["ingest"].misfire_grace_time == 60
    assert jobs["backtest"].next_run_time > PAST
    assert (jobs["backtest"].next_run_time.hour, jobs["backtest"].next_run_time.minute) == (13, 0)


def test_a_new_time_zone_reschedules(kit: Any, engine: sa.Engine) -> None:
    _reconcile(kit, engine, kit.scheduler_settings(jobs="ingest"))
    report = _reconcile(
        kit, engine, kit.scheduler_settings(jobs="ingest", timezone="America/New_York")
    )
    assert report["rescheduled"] == ["ingest"]
    assert str(_stored(kit, engine)["ingest"].trigger.timezone) == "America/New_York"


def test_jobs_no_longer_declared_are_removed(kit: Any, engine: sa.Engine) -> None:
    _reconcile(kit, engine, kit.scheduler_settings())
    report = _reconcile(kit, engine, kit.scheduler_settings(jobs="ingest,drift_check"))
    assert report["kept"] == ["ingest", "drift_check"]
    assert report["removed"] == [
        "backtest", "evaluate_promotion", "fetch", "nightly_retrain", "outbox_retry",
        "weekly_report",
    ]  # fmt: skip
    assert sorted(stored_next_runs(engine)) == ["drift_check", "ingest"]
