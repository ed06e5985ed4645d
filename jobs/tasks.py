"""The scheduled jobs' bodies (placeholders until the real ones land)."""

from __future__ import annotations

import datetime as dt

from jobs.types import JobResult
from nbaprops.settings import Settings

_NOT_YET = {"reason": "not implemented yet"}


def ingest(settings: Settings, run_for: dt.date) -> JobResult:
    """Take the day's games and lines; settle yesterday's props."""
    return JobResult(status="skipped", summary=_NOT_YET)


def nightly_retrain(settings: Settings, run_for: dt.date) -> JobResult:
    """Train, register and stage a candidate."""
    return JobResult(status="skipped", summary=_NOT_YET)


def backtest(settings: Settings, run_for: dt.date) -> JobResult:
    """Walk-forward backtest of a new candidate."""
    return JobResult(status="skipped", summary=_NOT_YET)


def evaluate_promotion(settings: Settings, run_for: dt.date) -> JobResult:
    """Decide and promote or not."""
    return JobResult(status="skipped", summary=_NOT_YET)


def drift_check(settings: Settings, run_for: dt.date) -> JobResult:
    """Check drift; roll back on breach."""
    return JobResult(status="skipped", summary=_NOT_YET)


def weekly_report(settings: Settings, run_for: dt.date) -> JobResult:
    """Render and send the weekly report."""
    return JobResult(status="skipped", summary=_NOT_YET)


def outbox_retry(settings: Settings, run_for: dt.date) -> JobResult:
    """Resend reports waiting in the outbox."""
    return JobResult(status="skipped", summary=_NOT_YET)
