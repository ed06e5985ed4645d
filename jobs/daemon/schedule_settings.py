"""The scheduler's own settings (prefix NBAPROPS_), and cron expressions turned into triggers.

Per-job values come from variables named after the job:
    NBAPROPS_SCHEDULE_<JOB>   a cron expression, e.g. NBAPROPS_SCHEDULE_NIGHTLY_RETRAIN="30 9 * * *"
    NBAPROPS_TIMEOUT_<JOB>    a hard timeout in seconds for that job
They are read from the process environment (not from `.env`). A schedule that would run a
step of the nightly pipeline before a step it needs is refused when the jobs are planned
(jobs/daemon/catalogue.py declares the order).

A cron expression has 5 fields (minute hour day month day-of-week) or 6 with seconds first.
Days of the week must be names (mon-sun): APScheduler 3 numbers them from Monday = 0 while
crontab starts at Sunday = 0, so a number would silently run on the wrong day.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "NBAPROPS_"
SCHEDULE_PREFIX = f"{ENV_PREFIX}SCHEDULE_"
TIMEOUT_PREFIX = f"{ENV_PREFIX}TIMEOUT_"
CRON_FIELDS_5 = ("minute", "hour", "day", "month", "day_of_week")
CRON_FIELDS_6 = ("second", *CRON_FIELDS_5)


class ScheduleError(ValueError):
    """A schedule setting that cannot be used; the message names the setting and the fix."""


def schedule_variable(job: str) -> str:
    """The environment variable that sets `job`'s cron expression."""
    return f"{SCHEDULE_PREFIX}{job.upper()}"


def timeout_variable(job: str) -> str:
    """The environment variable that sets `job`'s hard timeout."""
    return f"{TIMEOUT_PREFIX}{job.upper()}"


def parse_cron(expression: str, timezone: str, setting: str) -> CronTrigger:
    """A CronTrigger for a 5- or 6-field cron expression; ScheduleError names `setting` if bad."""
    fields = expression.split()
    example = "e.g. '30 9 * * *' (09:30 daily) or '0 15 * * mon'"
    if len(fields) not in (5, 6):
        raise ScheduleError(
            f"{setting}={expression!r} has {len(fields)} fields; a cron expression has 5 "
            f"(minute hour day month day-of-week) or 6 (seconds first), {example}"
        )
    names = CRON_FIELDS_5 if len(fields) == 5 else CRON_FIELDS_6
    values = dict(zip(names, fields, strict=True))
    if re.search(r"\d", values["day_of_week"]):
        raise ScheduleError(
            f"{setting}={expression!r}: write days of the week as names (mon,tue,...,sun), "
            "not numbers: APScheduler 3 counts from Monday = 0, crontab from Sunday = 0"
        )
    try:
        return CronTrigger(timezone=timezone, **values)
    except (ValueError, TypeError) as exc:
        raise ScheduleError(
            f"{setting}={expression!r} is not a valid cron expression ({exc}); {example}"
        ) from exc


class _PerJobEnvironment(PydanticBaseSettingsSource):
    """Gathers NBAPROPS_SCHEDULE_<JOB> and NBAPROPS_TIMEOUT_<JOB> into two dicts by job name."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for field_name, prefix in (("schedules", SCHEDULE_PREFIX), ("timeouts", TIMEOUT_PREFIX)):
            values = {
                key[len(prefix) :].lower(): value
                for key, value in os.environ.items()
                if key.upper().startswith(prefix) and len(key) > len(prefix)
            }
            if values:
                found[field_name] = values
        return found


class SchedulerSettings(BaseSettings):
    """How the daemon schedules, times out and stops jobs; defaults suit a nightly cycle."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", populate_by_name=True
    )

    timezone: str = Field(default="UTC", description="Time zone of every cron schedule.")
    misfire_grace_seconds: int = Field(
        default=6 * 3600,
        ge=1,
        description="How late a missed run may still start (APScheduler's default of 1 s "
        "would drop a nightly job after any outage).",
    )
    job_timeout_seconds: float | None = Field(
        default=None, gt=0, description="When set, the hard timeout of every job."
    )
    stop_deadline_seconds: float = Field(
        default=60.0, ge=0, description="On SIGTERM, how long a running job may go on."
    )
    kill_grace_seconds: float = Field(
        default=10.0, ge=0, description="After terminating a job's child, wait before SIGKILL."
    )
    heartbeat_seconds: float = Field(default=30.0, gt=0, description="Heartbeat period.")
    heartbeat_stale_seconds: float = Field(
        default=120.0, gt=0, description="`status --check` fails past this heartbeat age."
    )
    orphan_run_min_age_seconds: float = Field(
        default=24 * 3600,
        ge=0,
        description="At start-up, a RUNNING MLflow run not made by a job is marked FAILED "
        "only when older than this (it may belong to someone's `nbaprops train`).",
    )
    jobs: str | None = Field(
        default=None,
        description="Comma-separated jobs the daemon schedules (default: every production job).",
    )
    schedules: dict[str, str] = Field(default_factory=dict, description="Cron per job.")
    timeouts: dict[str, float] = Field(default_factory=dict, description="Timeout per job.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit values first, then the per-job variables, then the usual sources."""
        per_job = _PerJobEnvironment(settings_cls)
        return init_settings, per_job, env_settings, dotenv_settings, file_secret_settings

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"NBAPROPS_TIMEZONE={value!r} is not a known time zone; use an IANA name "
                "such as UTC or America/New_York"
            ) from exc
        return value

    @property
    def job_names(self) -> list[str] | None:
        """The jobs named in NBAPROPS_JOBS, or None for the default set."""
        if self.jobs is None:
            return None
        return [name.strip().lower() for name in self.jobs.split(",") if name.strip()]

    def timeout_for(self, job: str, default: float) -> float:
        """`job`'s hard timeout: its own variable, else the global one, else `default`."""
        if job in self.timeouts:
            return float(self.timeouts[job])
        if self.job_timeout_seconds is not None:
            return self.job_timeout_seconds
        return default
