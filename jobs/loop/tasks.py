"""The scheduled jobs: plain functions of (settings, the date they run for) -> JobResult.

The daemon runs them in a child process under a per-job lock; `nbaprops jobs run NAME` runs
the very same functions by hand; `nbaprops simulate` drives them day by day on a simulated
clock. The work itself lives in the modules named in each docstring.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

from jobs.daemon.types import JobResult
from jobs.loop.candidates import backtest_candidate, evaluate_candidate, retrain
from jobs.loop.context import JobContext, job_context
from jobs.loop.drift_watch import check_drift
from jobs.loop.scoring import ingest_day
from jobs.report.model import week_of
from jobs.report.publish import retry_outbox, send_weekly_report
from nbaprops.data.fetch.odds_api import EASTERN
from nbaprops.data.fetch.run import fetch_days
from nbaprops.settings import Settings


def _on_feed_day(
    settings: Settings, run_for: dt.date, work: Callable[[JobContext], JobResult]
) -> JobResult:
    """Run `work` on the job's context; the summary names the feed day when the synthetic
    clock mapped the date onto one (jobs.loop.season_clock)."""
    ctx = job_context(settings, run_for)
    result = work(ctx)
    if ctx.run_for == run_for:
        return result
    return replace(result, summary={"feed_day": ctx.run_for.isoformat(), **result.summary})


def fetch(settings: Settings, run_for: dt.date) -> JobResult:
    """Fetch yesterday's box scores and the day's slate and lines into the folder (fetch.run);
    skipped when no source is configured (the folder is then read as it is)."""
    today = dt.datetime.now(EASTERN).date()
    outcome = fetch_days(settings, run_for - dt.timedelta(days=1), run_for, today)
    if outcome.skipped_because is not None:
        return JobResult(status="skipped", summary=outcome.summary)
    return JobResult.succeeded(outcome.summary)


def ingest(settings: Settings, run_for: dt.date) -> JobResult:
    """Settle earlier live predictions; score the day's props with Production (scoring)."""
    return _on_feed_day(settings, run_for, ingest_day)


def nightly_retrain(settings: Settings, run_for: dt.date) -> JobResult:
    """Train a candidate on everything known, register it, stage it (candidates.retrain)."""
    return _on_feed_day(settings, run_for, retrain)


def backtest(settings: Settings, run_for: dt.date) -> JobResult:
    """Walk-forward backtest of the staged candidate and, on its window, the champion."""
    return _on_feed_day(settings, run_for, backtest_candidate)


def evaluate_promotion(settings: Settings, run_for: dt.date) -> JobResult:
    """Decide on the staged candidate and promote, keep or reject it (recorded)."""
    return _on_feed_day(settings, run_for, evaluate_candidate)


def drift_check(settings: Settings, run_for: dt.date) -> JobResult:
    """Drift of the Production model; automatic rollback on a breach (drift_watch)."""
    return _on_feed_day(settings, run_for, check_drift)


def weekly_report(settings: Settings, run_for: dt.date) -> JobResult:
    """Render last week's report and send it through the outbox (report.publish)."""
    ctx = job_context(settings, run_for)
    week = week_of(ctx.run_for - dt.timedelta(days=7))
    outcome = send_weekly_report(settings, week, ctx.now)
    return JobResult(status="succeeded", summary=outcome.to_dict())


def outbox_retry(settings: Settings, run_for: dt.date) -> JobResult:
    """Resend the reports waiting in the outbox, oldest first."""
    result = retry_outbox(settings)
    return JobResult(
        status="succeeded",
        summary={"sent": len(result.sent), "remaining": len(result.remaining)},
    )
