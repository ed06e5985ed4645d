"""The declared jobs (name, `module:function`, default schedule, timeout, heavy or light) and
the nightly pipeline: the order its steps run in and what each needs, declared once here and
read by the daemon's schedule and the season replay alike.

Heavy jobs run in a child process with a hard timeout, one at a time; light jobs run in the
daemon's own thread, where the timeout cannot be enforced (a thread cannot be stopped): keep
them to quick I/O with its own timeouts, like the outbox flush. The fault jobs
exist for fault-injection tests; they are never scheduled unless named in NBAPROPS_JOBS.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterable, Mapping
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
    JobSpec("fetch", "jobs.loop.tasks:fetch", "30 8 * * *", 30 * MINUTE, True,
            "Fetch yesterday's box scores and today's slate and lines (NBAPROPS_FETCH_SOURCES)."),
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
)  # fmt: skip


def _fault_job(name: str, function: str, heavy: bool, description: str) -> JobSpec:
    """A fault-injection job: a function of jobs.daemon.faults, never scheduled by default,
    given one minute."""
    return JobSpec(name, f"jobs.daemon.faults:{function}", None, MINUTE, heavy,
                   f"Fault injection: {description}", fault=True)  # fmt: skip


FAULT_JOBS: tuple[JobSpec, ...] = (
    _fault_job("fault_raise", "raise_error", True, "raises."),
    _fault_job("fault_hang", "hang", True, "never returns (optionally ignores SIGTERM)."),
    _fault_job("fault_hang_in_run", "hang_in_mlflow_run", True,
               "opens an MLflow run, then never returns."),
    _fault_job("fault_sleep", "sleep_then_succeed", True, "sleeps, then succeeds."),
    _fault_job("fault_marker", "write_marker", True, "appends a marker line and succeeds."),
    _fault_job("fault_marker_light", "write_marker", False,
               "the marker job, run in the daemon's thread."),
    _fault_job("fault_hang_light", "hang", False, "a job thread that never returns."),
)  # fmt: skip


class PipelineOrderError(ValueError):
    """A pipeline declaration that cannot be run in order; the message names the step to move."""


@dataclass(frozen=True)
class Step:
    """One step of the nightly pipeline: the job it runs and the steps that run before it.

    `candidate` marks the steps that train, backtest and decide on a candidate (the replay runs
    them only every few days); `external` marks a step that reads the outside world (the
    replay's generated feed stands in for it).
    """

    job: str
    needs: tuple[str, ...] = ()
    candidate: bool = False
    external: bool = False


def check_pipeline(steps: Iterable[Step], jobs: Mapping[str, JobSpec]) -> tuple[Step, ...]:
    """`steps` as a tuple once each names a declared job, once, and needs only steps above it."""
    steps = tuple(steps)
    names = [step.job for step in steps]
    seen: list[str] = []
    for step in steps:
        if step.job not in jobs:
            raise PipelineOrderError(
                f"pipeline step {step.job!r} is not a declared job; declare it first "
                f"(declared: {', '.join(jobs)})"
            )
        if step.job in seen:
            raise PipelineOrderError(f"pipeline step {step.job!r} is declared twice")
        for need in step.needs:
            if need in seen:
                continue
            if need == step.job:
                raise PipelineOrderError(f"pipeline step {step.job!r} needs itself")
            if need in names:
                raise PipelineOrderError(
                    f"pipeline step {step.job!r} needs {need!r}, which is declared after it; "
                    f"move {need!r} above {step.job!r} (order now: {' -> '.join(names)})"
                )
            raise PipelineOrderError(
                f"pipeline step {step.job!r} needs {need!r}, which is not a pipeline step"
            )
        seen.append(step.job)
    return steps


NIGHTLY_PIPELINE: tuple[Step, ...] = check_pipeline(
    (
        Step("fetch", external=True),
        Step("ingest", needs=("fetch",)),
        Step("nightly_retrain", needs=("ingest",), candidate=True),
        Step("backtest", needs=("nightly_retrain",), candidate=True),
        Step("evaluate_promotion", needs=("backtest",), candidate=True),
        # the day's promotion decision is made before the Production model is checked
        Step("drift_check", needs=("ingest", "evaluate_promotion")),
        Step("weekly_report", needs=("drift_check",)),
    ),
    {spec.name: spec for spec in PRODUCTION_JOBS},
)


def requirements(step: Step, steps: tuple[Step, ...] = NIGHTLY_PIPELINE) -> list[str]:
    """Every step `step` needs, directly or through the steps it needs, in pipeline order."""
    wanted = set(step.needs)
    for item in reversed(steps):
        if item.job in wanted:
            wanted.update(item.needs)
    return [item.job for item in steps if item.job in wanted and item.job != step.job]


def first_firing(trigger: CronTrigger, day: dt.date) -> dt.datetime | None:
    """The first time `trigger` fires on `day` (a calendar day in its time zone), if it does."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=trigger.timezone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=trigger.timezone)
    fire: dt.datetime | None = trigger.get_next_fire_time(None, start)
    return fire if fire is not None and fire < end else None


def steps_on(day: dt.date, steps: tuple[Step, ...] = NIGHTLY_PIPELINE) -> list[Step]:
    """The steps whose default schedule fires on `day`, in pipeline order (what the replay runs)."""
    jobs = catalogue()
    on_day = []
    for step in steps:
        spec = jobs[step.job]
        if spec.cron is None:
            continue
        trigger = parse_cron(spec.cron, "UTC", schedule_variable(spec.name))
        if first_firing(trigger, day) is not None:
            on_day.append(step)
    return on_day


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
    """The jobs the daemon schedules, with checked triggers; ScheduleError when one is bad or
    when one would run a pipeline step before a step it needs."""
    names = settings.job_names
    specs = default_jobs() if names is None else [_listed(name) for name in names]
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
    check_schedule_order(planned)
    return planned


# A leap year that starts on a Monday: every weekday of every month, and February 29.
REFERENCE_YEAR = [dt.date(2024, 1, 1) + dt.timedelta(days=offset) for offset in range(366)]


def check_schedule_order(planned: list[PlannedJob]) -> None:
    """ScheduleError when, on some day, a planned step would first run before a planned step it
    needs (directly or through steps left out of NBAPROPS_JOBS) first runs that day."""
    by_name = {item.spec.name: item for item in planned}
    steps = [step for step in NIGHTLY_PIPELINE if step.job in by_name]
    firsts = {
        step.job: [first_firing(by_name[step.job].trigger, day) for day in REFERENCE_YEAR]
        for step in steps
    }
    order = " -> ".join(step.job for step in NIGHTLY_PIPELINE)
    for step in steps:
        later = by_name[step.job]
        for need in reversed(requirements(step)):  # the nearest need first
            earlier = by_name.get(need)
            if earlier is None:
                continue
            for day, runs, needed in zip(
                REFERENCE_YEAR, firsts[step.job], firsts[need], strict=True
            ):
                if runs is None or needed is None or needed < runs:
                    continue
                raise ScheduleError(
                    f"{schedule_variable(step.job)}={later.cron!r} runs {step.job} at "
                    f"{runs:%H:%M} on {day:%a} {day}, not after {need} "
                    f"({schedule_variable(need)}={earlier.cron!r}, {needed:%H:%M}), which it "
                    f"needs; schedule {step.job} later or {need} earlier (the nightly order "
                    f"is {order})"
                )


def _listed(name: str) -> JobSpec:
    """A job named in NBAPROPS_JOBS; an unknown name is a schedule setting error."""
    try:
        return lookup(name)
    except UnknownJobError as exc:
        raise ScheduleError(f"NBAPROPS_JOBS: {exc}") from exc


def default_jobs() -> list[JobSpec]:
    """The production jobs as the daemon schedules them: the pipeline's steps in pipeline
    order, then the jobs outside it (the outbox flush)."""
    steps = [step.job for step in NIGHTLY_PIPELINE]
    others = [spec for spec in PRODUCTION_JOBS if spec.name not in steps]
    return [lookup(name) for name in steps] + others
