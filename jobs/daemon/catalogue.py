"""The declared jobs: name, `module:function`, default schedule, timeout, heavy or light.

Heavy jobs run in a child process with a hard timeout, one at a time; light jobs run in the
daemon's own thread, where the timeout cannot be enforced (a thread cannot be stopped): keep
them to quick I/O with its own timeouts, like the outbox flush. The fault jobs
exist for fault-injection tests; they are never scheduled unless named in NBAPROPS_JOBS.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from apscheduler.triggers.cron import CronTrigger

from jobs.daemon.schedule_settings import (
    ScheduleError,
    SchedulerSettings,
    parse_cron,
    schedule_variable,
)
from jobs.daemon.types import JobFunction

MINUTE = 60.0
HOUR = 3600.0


class UnknownJobError(LookupError):
    """A job name that is not declared; the message lists the declared ones."""


class JobReferenceError(ImportError):
    """A `module:function` reference that does not resolve to a callable."""


@dataclass(frozen=True)
class JobSpec:
    """One declared job; `cron` is the default schedule (None: only by hand or when set)."""

    name: str
    ref: str
    cron: str | None
    timeout_seconds: float
    heavy: bool
    description: str
    fault: bool = False

    def resolve(self) -> JobFunction:
        """Import the job function named by `ref`."""
        module_name, sep, attribute = self.ref.partition(":")
        if not sep:
            raise JobReferenceError(f"job {self.name}: {self.ref!r} is not 'module:function'")
        try:
            target = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise JobReferenceError(f"job {self.name}: cannot import {self.ref!r} ({exc})") from exc
        if not callable(target):
            raise JobReferenceError(f"job {self.name}: {self.ref!r} is not callable")
        function: JobFunction = target
        return function


PRODUCTION_JOBS: tuple[JobSpec, ...] = (
    JobSpec("ingest", "jobs.loop.tasks:ingest", "0 9 * * *", 30 * MINUTE, True,
            "Take the day's games and lines from the source; settle yesterday's props."),
    JobSpec("nightly_retrain", "jobs.loop.tasks:nightly_retrain", "30 9 * * *", 2 * HOUR, True,
            "Train a candidate on everything known, register it, stage it if it passes."),
    JobSpec("backtest", "jobs.loop.tasks:backtest", "0 12 * * *", 2 * HOUR, True,
            "Walk-forward backtest of a new candidate."),
    JobSpec("evaluate_promotion", "jobs.loop.tasks:evaluate_promotion", "0 14 * * *", 30 * MINUTE,
            True, "Decide on the staged candidate and promote or not, recorded."),
    JobSpec("drift_check", "jobs.loop.tasks:drift_check", "30 14 * * *", 30 * MINUTE, True,
            "Check drift of the Production model; roll back on a breach."),
    JobSpec("weekly_report", "jobs.loop.tasks:weekly_report", "0 15 * * mon", 30 * MINUTE, True,
            "Render the weekly report and send it (through the outbox)."),
    JobSpec("outbox_retry", "jobs.loop.tasks:outbox_retry", "*/30 * * * *", 5 * MINUTE, False,
            "Resend reports waiting in the outbox, oldest first."),
    # listed last, scheduled first: 08:30, before ingest (09:00) and the retrain (09:30)
    JobSpec("fetch", "jobs.loop.tasks:fetch", "30 8 * * *", 30 * MINUTE, True,
            "Fetch yesterday's box scores and today's slate and lines (NBAPROPS_FETCH_SOURCES)."),
)  # fmt: skip

FAULT_JOBS: tuple[JobSpec, ...] = (
    JobSpec("fault_raise", "jobs.daemon.faults:raise_error", None, MINUTE, True,
            "Fault injection: raises.", fault=True),
    JobSpec("fault_hang", "jobs.daemon.faults:hang", None, MINUTE, True,
            "Fault injection: never returns (optionally ignores SIGTERM).", fault=True),
    JobSpec("fault_hang_in_run", "jobs.daemon.faults:hang_in_mlflow_run", None, MINUTE, True,
            "Fault injection: opens an MLflow run, then never returns.", fault=True),
    JobSpec("fault_sleep", "jobs.daemon.faults:sleep_then_succeed", None, MINUTE, True,
            "Fault injection: sleeps, then succeeds.", fault=True),
    JobSpec("fault_marker", "jobs.daemon.faults:write_marker", None, MINUTE, True,
            "Fault injection: appends a marker line and succeeds.", fault=True),
    JobSpec("fault_marker_light", "jobs.daemon.faults:write_marker", None, MINUTE, False,
            "Fault injection: the marker job, run in the daemon's thread.", fault=True),
    JobSpec("fault_hang_light", "jobs.daemon.faults:hang", None, MINUTE, False,
            "Fault injection: a job thread that never returns.", fault=True),
)  # fmt: skip


def catalogue() -> dict[str, JobSpec]:
    """Every job that can be run by hand or scheduled, by name."""
    return {spec.name: spec for spec in (*PRODUCTION_JOBS, *FAULT_JOBS)}


def lookup(name: str) -> JobSpec:
    """The declared job called `name`."""
    jobs = catalogue()
    if name not in jobs:
        known = ", ".join(spec.name for spec in PRODUCTION_JOBS)
        raise UnknownJobError(f"no job named {name!r}; declared jobs: {known}")
    return jobs[name]


@dataclass(frozen=True)
class PlannedJob:
    """A declared job as the daemon schedules it: its trigger and effective timeout."""

    spec: JobSpec
    cron: str
    trigger: CronTrigger
    timeout_seconds: float


def schedule_for(spec: JobSpec, settings: SchedulerSettings) -> str | None:
    """`spec`'s cron expression: its NBAPROPS_SCHEDULE_<JOB> variable, else its default."""
    return settings.schedules.get(spec.name, spec.cron)


def planned_jobs(settings: SchedulerSettings) -> list[PlannedJob]:
    """The jobs the daemon schedules, with checked triggers; ScheduleError when one is bad."""
    names = settings.job_names
    specs = list(PRODUCTION_JOBS) if names is None else [_listed(name) for name in names]
    planned = []
    for spec in specs:
        setting = schedule_variable(spec.name)
        cron = schedule_for(spec, settings)
        if cron is None:
            raise ScheduleError(
                f"job {spec.name} has no default schedule; set {setting} (a cron expression)"
            )
        trigger = parse_cron(cron, settings.timezone, setting)
        timeout = settings.timeout_for(spec.name, spec.timeout_seconds)
        planned.append(PlannedJob(spec, cron, trigger, timeout))
    return planned


def _listed(name: str) -> JobSpec:
    """A job named in NBAPROPS_JOBS; an unknown name is a schedule setting error."""
    try:
        return lookup(name)
    except UnknownJobError as exc:
        raise ScheduleError(f"NBAPROPS_JOBS: {exc}") from exc
