"""What `nbaprops status` and `nbaprops jobs list` show, collected read-only.

The daemon's liveness comes from its heartbeat row; next run times from the job store's table
(read with a plain SELECT, never through a scheduler, so the CLI cannot consume a trigger),
or computed from the cron trigger when the daemon never ran; last results from job_history.
Other layers add their part through `register_status_extension` (Production and Staging
versions, drift state, outbox count...).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from jobs.daemon.catalogue import PRODUCTION_JOBS, catalogue, planned_jobs
from jobs.daemon.history import Heartbeat, HistoryRow, JobHistory, heartbeat, job_history
from jobs.daemon.reconcile import JOBSTORE_TABLE
from jobs.daemon.schedule_settings import SchedulerSettings
from nbaprops.settings import Settings

StatusExtension = Callable[[Settings], Mapping[str, Any]]

# name -> callable; each adds one section to `status`. Filled by whoever wires the app.
_EXTENSIONS: dict[str, StatusExtension] = {}
RESERVED_SECTIONS = frozenset({"now", "daemon", "jobs"})


def register_status_extension(name: str, extension: StatusExtension) -> None:
    """Add a section `name` to `nbaprops status`, computed by `extension(settings)`."""
    if name in RESERVED_SECTIONS:
        raise ValueError(f"status section {name!r} is taken; choose another name")
    _EXTENSIONS[name] = extension


def extra_status(settings: Settings) -> dict[str, Any]:
    """Every registered section; one that raises shows its error instead of breaking status."""
    sections: dict[str, Any] = {}
    for name, extension in _EXTENSIONS.items():
        try:
            sections[name] = dict(extension(settings))
        except Exception as exc:
            sections[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return sections


def _has_table(engine: sa.Engine, name: str) -> bool:
    return sa.inspect(engine).has_table(name)


def stored_next_runs(engine: sa.Engine) -> dict[str, dt.datetime | None]:
    """Each stored job's next run time, read from the job store's table (no scheduler)."""
    if not _has_table(engine, JOBSTORE_TABLE):
        return {}
    table = sa.table(JOBSTORE_TABLE, sa.column("id"), sa.column("next_run_time"))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.id, table.c.next_run_time)).all()
    return {
        str(job_id): None if stamp is None else dt.datetime.fromtimestamp(float(stamp), dt.UTC)
        for job_id, stamp in rows
    }


def last_results(engine: sa.Engine) -> dict[str, HistoryRow]:
    """Each job's latest history row (empty before any run)."""
    if not _has_table(engine, job_history.name):
        return {}
    return JobHistory(engine).last_per_job()


def read_heartbeat(engine: sa.Engine) -> Heartbeat | None:
    """The daemon's heartbeat, if a daemon ever ran on this state DB."""
    if not _has_table(engine, heartbeat.name):
        return None
    return JobHistory(engine).read_heartbeat()


@dataclass(frozen=True)
class JobLine:
    """One job as `jobs list` shows it."""

    name: str
    schedule: str | None
    heavy: bool
    timeout_seconds: float
    next_run: dt.datetime | None
    next_run_source: str  # 'store', 'cron' or '' (not scheduled)
    last: HistoryRow | None

    def to_dict(self) -> dict[str, Any]:
        """The line as JSON-able values."""
        return {
            "name": self.name,
            "schedule": self.schedule,
            "heavy": self.heavy,
            "timeout_seconds": self.timeout_seconds,
            "next_run": None if self.next_run is None else self.next_run.isoformat(),
            "next_run_source": self.next_run_source,
            "last": None if self.last is None else self.last.to_dict(),
        }


def job_lines(
    scheduler_settings: SchedulerSettings, engine: sa.Engine, now: dt.datetime
) -> list[JobLine]:
    """Scheduled jobs, then unscheduled ones (production or with history): next and last run."""
    stored = stored_next_runs(engine)
    last = last_results(engine)
    lines = []
    planned = planned_jobs(scheduler_settings)
    for item in planned:
        name = item.spec.name
        if name in stored:
            next_run, source = stored[name], "store"
        else:
            next_run, source = item.trigger.get_next_fire_time(None, now), "cron"
        lines.append(
            JobLine(name, item.cron, item.spec.heavy, item.timeout_seconds,
                    next_run, source, last.get(name))
        )  # fmt: skip
    scheduled = {item.spec.name for item in planned}
    known = catalogue()
    unscheduled = [spec.name for spec in PRODUCTION_JOBS] + sorted(set(last) - set(known))
    unscheduled += sorted(name for name in last if name in known)
    for name in dict.fromkeys(unscheduled):
        if name in scheduled:
            continue
        spec = known.get(name)
        heavy = spec.heavy if spec is not None else False
        timeout = scheduler_settings.timeout_for(name, spec.timeout_seconds if spec else 0.0)
        lines.append(JobLine(name, None, heavy, timeout, None, "", last.get(name)))
    return lines


def daemon_status(
    beat: Heartbeat | None, now: dt.datetime, stale_after_seconds: float
) -> dict[str, Any]:
    """Liveness: 'running' (fresh heartbeat), 'stale', 'stopped' or 'never started'."""
    if beat is None:
        return {"alive": False, "state": "never started"}
    age = beat.age_seconds(now)
    if beat.state != "running":
        state = "stopped"
    elif age > stale_after_seconds:
        state = "stale"
    else:
        state = "running"
    return {**beat.to_dict(now), "alive": state == "running", "state": state}


def collect_status(
    settings: Settings,
    scheduler_settings: SchedulerSettings,
    engine: sa.Engine,
    now: dt.datetime,
) -> dict[str, Any]:
    """Everything `nbaprops status` shows, as JSON-able values."""
    daemon = daemon_status(read_heartbeat(engine), now, scheduler_settings.heartbeat_stale_seconds)
    return {
        "now": now.isoformat(),
        "daemon": daemon,
        "jobs": [line.to_dict() for line in job_lines(scheduler_settings, engine, now)],
        **extra_status(settings),
    }
