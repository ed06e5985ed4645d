"""What APScheduler's job events become in job history: a pure mapping, table-driven."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
    JobSubmissionEvent,
)

from jobs.daemon.adapters import describe_event

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
DUE = dt.datetime(2025, 1, 14, 3, 30, tzinfo=dt.UTC)  # 22:30 on the 13th in New York
NOW = DUE + dt.timedelta(hours=7)


@pytest.mark.parametrize(
    ("event", "status", "phrases"),
    [
        (
            JobExecutionEvent(EVENT_JOB_MISSED, "ingest", "default", DUE),
            "missed",
            ["25200 s late", "grace of 21600 s", "nbaprops jobs run ingest --date 2025-01-13"],
        ),
        (
            JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, "ingest", "default", [DUE]),
            "refused",
            ["still going (max_instances=1)"],
        ),
        (
            JobExecutionEvent(
                EVENT_JOB_ERROR,
                "ingest",
                "default",
                DUE,
                exception=OSError("database is locked"),
                traceback="Traceback...",
            ),
            "failed",
            ["could not run the job: OSError('database is locked')", "Traceback..."],
        ),
    ],
)
def test_events_become_history_rows(event: Any, status: str, phrases: list[str]) -> None:
    record = describe_event(event, NOW, 21600, NEW_YORK)
    assert record.status == status
    assert record.due == DUE
    assert record.run_for == dt.date(2025, 1, 13)  # the day it was due, in the schedule's zone
    for phrase in phrases:
        assert phrase in record.error
