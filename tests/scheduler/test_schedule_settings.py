"""Schedule settings and the declared jobs: pure rules, table-driven."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from jobs.daemon.catalogue import FAULT_JOBS, PRODUCTION_JOBS, UnknownJobError, lookup, planned_jobs
from jobs.daemon.schedule_settings import ScheduleError, SchedulerSettings, parse_cron
from jobs.daemon.types import JobResult, JobResultError

MONDAY_NOON = dt.datetime(2025, 1, 13, 12, 0, 1, tzinfo=dt.UTC)  # just after noon


@pytest.mark.parametrize(
    ("expression", "expected_next"),
    [
        ("30 9 * * *", dt.datetime(2025, 1, 14, 9, 30, tzinfo=dt.UTC)),
        ("0 15 * * mon", dt.datetime(2025, 1, 13, 15, 0, tzinfo=dt.UTC)),
        ("*/30 * * * *", dt.datetime(2025, 1, 13, 12, 30, tzinfo=dt.UTC)),
        ("15 * * * * *", dt.datetime(2025, 1, 13, 12, 0, 15, tzinfo=dt.UTC)),  # seconds first
        ("0 0 1 * *", dt.datetime(2025, 2, 1, 0, 0, tzinfo=dt.UTC)),
    ],
)
def test_cron_expressions(expression: str, expected_next: dt.datetime) -> None:
    trigger = parse_cron(expression, "UTC", "NBAPROPS_SCHEDULE_X")
    assert trigger.get_next_fire_time(None, MONDAY_NOON) == expected_next


def test_cron_follows_the_time_zone() -> None:
    trigger = parse_cron("0 6 * * *", "America/New_York", "NBAPROPS_SCHEDULE_X")
    assert trigger.get_next_fire_time(None, MONDAY_NOON) == dt.datetime(
        2025, 1, 14, 11, 0, tzinfo=dt.UTC
    )


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 3 * * *", "is not a valid cron expression"),
        ("* * * *", "has 4 fields"),
        ("0 3 * * * * *", "has 7 fields"),
        ("0 3 * * 1", "names (mon,tue,...,sun), not numbers"),
        ("0 3 * nope *", "is not a valid cron expression"),
    ],
)
def test_bad_cron_expressions_name_the_setting(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match="NBAPROPS_SCHEDULE_NIGHTLY_RETRAIN") as caught:
        parse_cron(expression, "UTC", "NBAPROPS_SCHEDULE_NIGHTLY_RETRAIN")
    assert message in str(caught.value)


def test_per_job_variables_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBAPROPS_SCHEDULE_NIGHTLY_RETRAIN", "0 10 * * *")
    monkeypatch.setenv("NBAPROPS_TIMEOUT_BACKTEST", "90")
    monkeypatch.setenv("NBAPROPS_MISFIRE_GRACE_SECONDS", "60")
    monkeypatch.setenv("NBAPROPS_TIMEZONE", "Europe/Paris")
    settings = SchedulerSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.schedules == {"nightly_retrain": "0 10 * * *"}
    assert settings.timeout_for("backtest", 7200) == 90
    assert settings.timeout_for("ingest", 1800) == 1800
    assert (settings.misfire_grace_seconds, settings.timezone) == (60, "Europe/Paris")
    planned = {p.spec.name: p for p in planned_jobs(settings)}
    assert planned["nightly_retrain"].cron == "0 10 * * *"
    assert str(planned["nightly_retrain"].trigger.timezone) == "Europe/Paris"
    assert planned["backtest"].timeout_seconds == 90


def test_the_global_timeout_applies_unless_a_job_has_its_own(kit: Any) -> None:
    settings = kit.scheduler_settings(job_timeout_seconds=5, timeouts={"ingest": 9})
    assert settings.timeout_for("ingest", 1800) == 9
    assert settings.timeout_for("backtest", 7200) == 5


def test_defaults_suit_a_nightly_cycle(kit: Any) -> None:
    settings = kit.scheduler_settings()
    assert settings.misfire_grace_seconds == 6 * 3600
    planned = planned_jobs(settings)
    assert [p.spec.name for p in planned] == [spec.name for spec in PRODUCTION_JOBS]
    assert [p.spec.name for p in planned] == [
        "fetch",
        "ingest",
        "nightly_retrain",
        "backtest",
        "evaluate_promotion",
        "drift_check",
        "weekly_report",
        "outbox_retry",
    ]
    assert all(p.spec.ref == f"jobs.loop.tasks:{p.spec.name}" for p in planned)
    assert not any(p.spec.fault for p in planned)


def test_unknown_timezone_is_refused(kit: Any) -> None:
    with pytest.raises(ValueError, match="NBAPROPS_TIMEZONE='Mars/Olympus'"):
        kit.scheduler_settings(timezone="Mars/Olympus")


def test_jobs_setting_selects_jobs_and_fault_jobs_need_a_schedule(kit: Any) -> None:
    chosen = kit.scheduler_settings(
        jobs="ingest, fault_marker", schedules={"fault_marker": "0 1 * * *"}
    )
    assert [p.spec.name for p in planned_jobs(chosen)] == ["ingest", "fault_marker"]
    with pytest.raises(ScheduleError, match="set NBAPROPS_SCHEDULE_FAULT_RAISE"):
        planned_jobs(kit.scheduler_settings(jobs="fault_raise"))
    with pytest.raises(ScheduleError, match="NBAPROPS_JOBS: no job named 'nope'"):
        planned_jobs(kit.scheduler_settings(jobs="nope"))


def test_every_declared_job_resolves_to_a_function() -> None:
    for spec in (*PRODUCTION_JOBS, *FAULT_JOBS):
        assert callable(spec.resolve())
    assert all(spec.fault for spec in FAULT_JOBS)
    assert all(spec.cron is None for spec in FAULT_JOBS)  # never scheduled by default
    with pytest.raises(UnknownJobError, match="declared jobs: fetch, ingest, nightly_retrain"):
        lookup("nightly")


def test_every_production_job_returns_a_typed_result_on_a_fresh_store(settings: Any) -> None:
    for spec in PRODUCTION_JOBS:
        result = spec.resolve()(settings, dt.date(2025, 1, 13))
        assert isinstance(result, JobResult)


@pytest.mark.parametrize(
    ("status", "summary", "message"),
    [
        ("done", {}, "is not one of"),
        ("succeeded", {"x": object()}, "not plain JSON"),
        ("succeeded", {"x": float("nan")}, "not plain JSON"),
    ],
)
def test_a_job_result_must_be_storable(status: str, summary: dict[str, Any], message: str) -> None:
    with pytest.raises(JobResultError, match=message):
        JobResult(status=status, summary=summary)  # type: ignore[arg-type]
