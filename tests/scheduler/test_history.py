"""The job_history table and the heartbeat row on a real SQLite file."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from jobs.daemon.history import Heartbeat, HistoryError, JobHistory
from jobs.daemon.types import HistoryStatus
from nbaprops.settings import Settings
from nbaprops.statedb import state_engine

DAY = dt.date(2025, 1, 13)
T0 = dt.datetime(2025, 1, 13, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def history(settings: Settings) -> JobHistory:
    history = JobHistory(state_engine(settings))
    history.ensure_schema()
    history.ensure_schema()  # idempotent
    return history


def _at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_a_run_is_opened_then_closed_once(history: JobHistory) -> None:
    row_id = history.open_run("ingest", DAY, T0, trigger="scheduled", pid=11, host="box",
                              scheduled_at=T0)  # fmt: skip
    assert [r.id for r in history.running()] == [row_id]
    assert history.close_run(row_id, _at(2), "succeeded", summary={"games": 7})
    assert not history.close_run(row_id, _at(3), "failed", error="late")  # already closed
    row = history.get(row_id)
    assert row is not None
    assert (row.status, row.summary, row.error) == ("succeeded", {"games": 7}, None)
    assert (row.started_at, row.ended_at, row.scheduled_at) == (T0, _at(2), T0)
    assert row.duration_seconds() == 120
    assert row.to_dict()["run_for"] == "2025-01-13"
    assert history.running() == []


def test_events_are_closed_rows(history: JobHistory) -> None:
    row_id = history.record_event("ingest", DAY, T0, "missed", trigger="scheduled", pid=1,
                                  host="box", error="missed by 7 h")  # fmt: skip
    row = history.get(row_id)
    assert row is not None and row.status == "missed" and row.ended_at == row.started_at


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            lambda h: h.record_event("x", DAY, T0, "running", trigger="t", pid=1, host="h"),
            "open_run",
        ),
        (lambda h: h.close_run(1, T0, "running"), "final status"),
        (
            lambda h: h.record_event("x", DAY, T0, "done", trigger="t", pid=1, host="h"),
            "not one of",
        ),
    ],
)
def test_nonsense_writes_are_refused(history: JobHistory, action: Any, message: str) -> None:
    with pytest.raises(HistoryError, match=message):
        action(history)


def test_last_per_job_and_recent(history: JobHistory) -> None:
    events: list[tuple[str, HistoryStatus]] = [
        ("ingest", "failed"),
        ("backtest", "succeeded"),
        ("ingest", "succeeded"),
    ]
    for minute, (job, status) in enumerate(events):
        history.record_event(job, DAY, _at(minute), status, trigger="manual", pid=1, host="h")
    last = history.last_per_job()
    assert {job: row.status for job, row in last.items()} == {
        "ingest": "succeeded",
        "backtest": "succeeded",
    }
    assert [r.status for r in history.recent("ingest")] == ["succeeded", "failed"]
    assert len(history.recent(limit=2)) == 2


def test_the_heartbeat_row_is_replaced(history: JobHistory) -> None:
    assert history.read_heartbeat() is None
    history.write_heartbeat(Heartbeat(T0, T0, 5, "box", "running"))
    history.write_heartbeat(Heartbeat(_at(1), T0, 5, "box", "stopped"))
    beat = history.read_heartbeat()
    assert beat == Heartbeat(_at(1), T0, 5, "box", "stopped")
    assert beat.age_seconds(_at(2)) == 60
