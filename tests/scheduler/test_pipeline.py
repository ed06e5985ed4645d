"""The nightly pipeline's order, declared once: the daemon's schedule and the replay follow it,
and a declaration or a schedule setting that breaks it is refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from jobs.daemon.catalogue import (
    NIGHTLY_PIPELINE,
    PRODUCTION_JOBS,
    PipelineOrderError,
    Step,
    check_pipeline,
    planned_jobs,
    requirements,
)
from jobs.daemon.schedule_settings import ScheduleError
from jobs.loop.replay import jobs_for

WEEK = [dt.date(2025, 1, 13) + dt.timedelta(days=offset) for offset in range(7)]  # Mon..Sun
DECLARED = {spec.name: spec for spec in PRODUCTION_JOBS}


def _firings(kit: Any, day: dt.date, **values: Any) -> list[str]:
    """The daemon's planned jobs that fire on `day`, by fire time (every firing listed)."""
    planned = planned_jobs(kit.scheduler_settings(**values))
    fired: list[tuple[dt.datetime, str]] = []
    for item in planned:
        tz = item.trigger.timezone
        start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        previous, now = None, start
        while (fire := item.trigger.get_next_fire_time(previous, now)) is not None and fire < end:
            fired.append((fire, item.spec.name))
            previous, now = fire, fire + dt.timedelta(seconds=1)
    return [name for _, name in sorted(fired)]


@pytest.mark.parametrize("timezone", ["UTC", "America/New_York"])
def test_the_replay_runs_each_day_what_the_schedule_fires_in_the_same_order(
    kit: Any, timezone: str
) -> None:
    replayed = {step.job for step in NIGHTLY_PIPELINE if not step.external}
    for day in WEEK:
        scheduled = [name for name in _firings(kit, day, timezone=timezone) if name in replayed]
        assert jobs_for(day, start=day, retrain_every=1) == scheduled, day
    assert "weekly_report" in jobs_for(WEEK[0], WEEK[0], 1)  # Monday
    assert "weekly_report" not in jobs_for(WEEK[1], WEEK[1], 1)


def test_the_replay_thins_out_only_the_candidate_steps() -> None:
    start = WEEK[0]
    days = {day: jobs_for(day, start, retrain_every=3) for day in WEEK}
    retrain_days = [day for day, names in days.items() if "nightly_retrain" in names]
    assert retrain_days == [WEEK[0], WEEK[3], WEEK[6]]
    candidates = {step.job for step in NIGHTLY_PIPELINE if step.candidate}
    assert candidates == {"nightly_retrain", "backtest", "evaluate_promotion"}
    for names in days.values():
        assert {"ingest", "drift_check"} <= set(names)
        assert "fetch" not in names  # the generated feed stands in for the fetch
        assert candidates <= set(names) or not candidates & set(names)


def test_the_default_schedule_lists_the_pipeline_first_in_its_order(kit: Any) -> None:
    names = [item.spec.name for item in planned_jobs(kit.scheduler_settings())]
    assert names == [*(step.job for step in NIGHTLY_PIPELINE), "outbox_retry"]


def test_requirements_follow_the_needs_through_the_steps_between() -> None:
    by_job = {step.job: step for step in NIGHTLY_PIPELINE}
    assert requirements(by_job["fetch"]) == []
    assert requirements(by_job["backtest"]) == ["fetch", "ingest", "nightly_retrain"]
    assert requirements(by_job["weekly_report"]) == [
        step.job for step in NIGHTLY_PIPELINE if step.job != "weekly_report"
    ]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            (Step("ingest", needs=("fetch",)), Step("fetch")),
            "'ingest' needs 'fetch', which is declared after it; move 'fetch' above 'ingest'",
        ),
        ((Step("ingest", needs=("ingest",)),), "'ingest' needs itself"),
        ((Step("fetch"), Step("ingest", needs=("scrape",))), "needs 'scrape', which is not"),
        ((Step("fetch"), Step("fetch")), "'fetch' is declared twice"),
        ((Step("scrape"),), "'scrape' is not a declared job"),
    ],
)
def test_a_misordered_declaration_is_refused(steps: tuple[Step, ...], message: str) -> None:
    with pytest.raises(PipelineOrderError, match=message):
        check_pipeline(steps, DECLARED)


def test_the_declared_pipeline_passes_its_own_check() -> None:
    assert check_pipeline(NIGHTLY_PIPELINE, DECLARED) == NIGHTLY_PIPELINE


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"schedules": {"nightly_retrain": "0 4 * * *"}},
            "NBAPROPS_SCHEDULE_NIGHTLY_RETRAIN='0 4 * * *' runs nightly_retrain at 04:00 on "
            "Mon 2024-01-01, not after ingest (NBAPROPS_SCHEDULE_INGEST='0 9 * * *', 09:00)",
        ),
        (  # a tie is not an order
            {"schedules": {"drift_check": "0 14 * * *"}},
            "runs drift_check at 14:00 on Mon 2024-01-01, not after evaluate_promotion",
        ),
        (  # only on Mondays, and only against the step it needs
            {"schedules": {"weekly_report": "0 14 * * mon"}},
            "runs weekly_report at 14:00 on Mon 2024-01-01, not after drift_check",
        ),
        (  # a step needed through one left out of NBAPROPS_JOBS still counts
            {"jobs": "backtest,fetch", "schedules": {"backtest": "0 8 * * *"}},
            "runs backtest at 08:00 on Mon 2024-01-01, not after fetch",
        ),
    ],
)
def test_a_schedule_that_runs_a_step_before_what_it_needs_is_refused(
    kit: Any, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ScheduleError, match="which it needs; schedule") as caught:
        planned_jobs(kit.scheduler_settings(**values))
    assert message in str(caught.value)
    assert "the nightly order is fetch -> ingest -> nightly_retrain" in str(caught.value)


@pytest.mark.parametrize(
    "values",
    [
        {"schedules": {"nightly_retrain": "0 10 * * *", "backtest": "0 13 * * *"}},
        {"schedules": {"weekly_report": "0 15 * * sun"}},  # any weekday, after the drift check
        {"schedules": {"drift_check": "0 20 * * mon"}, "jobs": "ingest,drift_check"},
        {"schedules": {"ingest": "0 6-23/6 * * *", "fetch": "0 5 * * *"}},  # 06:00, 12:00...
        {"jobs": "nightly_retrain", "schedules": {"nightly_retrain": "0 4 * * *"}},  # alone
    ],
)
def test_a_schedule_that_keeps_the_order_is_accepted(kit: Any, values: dict[str, Any]) -> None:
    assert planned_jobs(kit.scheduler_settings(**values))
