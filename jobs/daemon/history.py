"""The job-history table (one row per run, refusal or miss) and the daemon's heartbeat row.

A run's row is opened as 'running' with the pid and host of the process that owns it, and
closed with its outcome; a row left 'running' by a dead process is closed at the next daemon
start (see jobs/daemon/recovery.py). Time comes in as a value: callers pass aware datetimes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Column, Date, Index, Integer, MetaData, String, Table, Text

from governance.audit import UtcDateTime
from jobs.daemon.types import HISTORY_STATUSES, HistoryStatus
from nbaprops.statedb.migrate import ensure_state_schema
from nbaprops.statedb.records import fetch_records

HEARTBEAT_NAME = "scheduler"

metadata = MetaData()

job_history = Table(
    "job_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", String(100), nullable=False),
    Column("run_for", Date, nullable=False),
    Column("trigger", String(20), nullable=False),
    Column("scheduled_at", UtcDateTime(), nullable=True),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime(), nullable=True),
    Column("status", String(20), nullable=False),
    Column("summary", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Index("ix_job_history_job_id", "job", "id"),
    Index("ix_job_history_status", "status"),
)

heartbeat = Table(
    "scheduler_heartbeat",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("beat_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("state", String(20), nullable=False),
)


class HistoryError(ValueError):
    """A history write that makes no sense as given; the message says what to fix."""


@dataclass(frozen=True)
class HistoryRow:
    """One row of job_history, decoded."""

    id: int
    job: str
    run_for: dt.date
    trigger: str
    scheduled_at: dt.datetime | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    status: str
    summary: dict[str, Any] | None
    error: str | None
    pid: int
    host: str

    def duration_seconds(self) -> float | None:
        """How long the run took (None while it runs)."""
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-able values."""
        return {
            "id": self.id,
            "job": self.job,
            "run_for": self.run_for.isoformat(),
            "trigger": self.trigger,
            "scheduled_at": _iso(self.scheduled_at),
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "duration_seconds": self.duration_seconds(),
            "status": self.status,
            "summary": self.summary,
            "error": self.error,
            "pid": self.pid,
            "host": self.host,
        }


@dataclass(frozen=True)
class Heartbeat:
    """The daemon's latest sign of life."""

    beat_at: dt.datetime
    started_at: dt.datetime
    pid: int
    host: str
    state: str  # 'running' or 'stopped'

    def age_seconds(self, now: dt.datetime) -> float:
        """Seconds since the last beat."""
        return (now - self.beat_at).total_seconds()

    def to_dict(self, now: dt.datetime) -> dict[str, Any]:
        """The heartbeat as JSON-able values, with its age at `now`."""
        return {
            "beat_at": _iso(self.beat_at),
            "started_at": _iso(self.started_at),
            "age_seconds": round(self.age_seconds(now), 1),
            "pid": self.pid,
            "host": self.host,
            "state": self.state,
        }


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _check_status(status: str) -> None:
    if status not in HISTORY_STATUSES:
        raise HistoryError(f"status {status!r} is not one of {', '.join(HISTORY_STATUSES)}")


def _dump(summary: Mapping[str, Any] | None) -> str | None:
    return None if summary is None else json.dumps(dict(summary), sort_keys=True, default=str)


class JobHistory:
    """Read and write job_history and the heartbeat through a SQLAlchemy engine."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def ensure_schema(self) -> None:
        """Bring the state database to the current schema (migrations; idempotent)."""
        ensure_state_schema(self.engine)

    def open_run(
        self,
        job: str,
        run_for: dt.date,
        now: dt.datetime,
        *,
        trigger: str,
        pid: int,
        host: str,
        scheduled_at: dt.datetime | None = None,
    ) -> int:
        """Open a 'running' row for a run that starts at `now`; return its id."""
        return self._insert(job, run_for, now, None, "running", trigger, None, None, pid, host,
                            scheduled_at)  # fmt: skip

    def close_run(
        self,
        row_id: int,
        now: dt.datetime,
        status: HistoryStatus,
        *,
        summary: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """Close a 'running' row with its outcome; False if it was closed already."""
        _check_status(status)
        if status == "running":
            raise HistoryError("close_run needs a final status, not 'running'")
        query = (
            job_history.update()
            .where(job_history.c.id == row_id, job_history.c.status == "running")
            .values(ended_at=now, status=status, summary=_dump(summary), error=error)
        )
        with self.engine.begin() as conn:
            return conn.execute(query).rowcount == 1

    def record_event(
        self,
        job: str,
        run_for: dt.date,
        now: dt.datetime,
        status: HistoryStatus,
        *,
        trigger: str,
        pid: int,
        host: str,
        error: str | None = None,
        summary: Mapping[str, Any] | None = None,
        scheduled_at: dt.datetime | None = None,
    ) -> int:
        """A closed row for something that happened instead of a run (refused, missed)."""
        if status == "running":
            raise HistoryError("record_event writes closed rows; use open_run for a run")
        return self._insert(job, run_for, now, now, status, trigger, summary, error, pid, host,
                            scheduled_at)  # fmt: skip

    def _insert(
        self,
        job: str,
        run_for: dt.date,
        started_at: dt.datetime,
        ended_at: dt.datetime | None,
        status: str,
        trigger: str,
        summary: Mapping[str, Any] | None,
        error: str | None,
        pid: int,
        host: str,
        scheduled_at: dt.datetime | None,
    ) -> int:
        _check_status(status)
        values = {
            "job": job,
            "run_for": run_for,
            "trigger": trigger,
            "scheduled_at": scheduled_at,
            "started_at": started_at,
            "ended_at": ended_at,
            "status": status,
            "summary": _dump(summary),
            "error": error,
            "pid": pid,
            "host": host,
        }
        with self.engine.begin() as conn:
            key = conn.execute(job_history.insert().values(**values)).inserted_primary_key
        if key is None or key[0] is None:
            raise HistoryError("the database returned no id for the new job_history row")
        return int(key[0])

    def get(self, row_id: int) -> HistoryRow | None:
        """One row by id."""
        rows = self._fetch(sa.select(job_history).where(job_history.c.id == row_id))
        return rows[0] if rows else None

    def running(self, job: str | None = None) -> list[HistoryRow]:
        """Rows still marked 'running', oldest first."""
        query = sa.select(job_history).where(job_history.c.status == "running")
        if job is not None:
            query = query.where(job_history.c.job == job)
        return self._fetch(query.order_by(job_history.c.id))

    def recent(self, job: str | None = None, limit: int = 20) -> list[HistoryRow]:
        """The latest `limit` rows (of one job, or all), newest first."""
        query = sa.select(job_history)
        if job is not None:
            query = query.where(job_history.c.job == job)
        return self._fetch(query.order_by(job_history.c.id.desc()).limit(limit))

    def last_per_job(self) -> dict[str, HistoryRow]:
        """Each job's latest row."""
        latest = sa.select(sa.func.max(job_history.c.id)).group_by(job_history.c.job)
        rows = self._fetch(sa.select(job_history).where(job_history.c.id.in_(latest)))
        return {row.job: row for row in rows}

    def write_heartbeat(self, beat: Heartbeat) -> None:
        """Replace the daemon's heartbeat row."""
        values = {
            "beat_at": beat.beat_at,
            "started_at": beat.started_at,
            "pid": beat.pid,
            "host": beat.host,
            "state": beat.state,
        }
        with self.engine.begin() as conn:
            updated = conn.execute(
                heartbeat.update().where(heartbeat.c.name == HEARTBEAT_NAME).values(**values)
            ).rowcount
            if updated == 0:
                conn.execute(heartbeat.insert().values(name=HEARTBEAT_NAME, **values))

    def read_heartbeat(self) -> Heartbeat | None:
        """The daemon's latest heartbeat, or None if no daemon ever ran (or no table yet)."""
        if not sa.inspect(self.engine).has_table(heartbeat.name):
            return None
        query = sa.select(heartbeat).where(heartbeat.c.name == HEARTBEAT_NAME)
        beats = fetch_records(self.engine, query, Heartbeat)
        return beats[0] if beats else None

    def _fetch(self, query: Any) -> list[HistoryRow]:
        return fetch_records(self.engine, query, HistoryRow, {"summary": json.loads})
