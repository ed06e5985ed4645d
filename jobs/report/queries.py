"""Bounded reads of MLflow and the audit trail for one ISO week of the weekly report.

Every run search is filtered on `attributes.start_time` in milliseconds (a filter written in
seconds silently matches the whole history) and capped by max_results, so the report costs the
same whether the store holds one week or ten years. Model versions cannot be filtered on their
creation time, so they are paged newest first and the paging stops at the first version older
than the window.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from governance.audit import AuditEntry, AuditTrail
from governance.evidence import latest_backtest
from governance.registry import MODEL_NAME, PRODUCTION, RegistryView, VersionInfo
from jobs.report.model import iso_week_bounds
from nbaprops.tracking.setup import MONITORING_EXPERIMENT, PHASES

MONITORING_PHASE = "monitoring"
PRODUCTION_ALIAS = PRODUCTION
DEFAULT_MODEL_NAME = MODEL_NAME
PARENT_TAG = "mlflow.parentRunId"
RUN_PAGE_SIZE = 1000
MAX_RUNS_PER_WEEK = 5000
VERSION_PAGE_SIZE = 100
MAX_VERSIONS_SCANNED = 2000
BETS_ARTIFACT = "bets.csv"
_NOT_FOUND_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"})


def _ms(day: dt.date) -> int:
    """Milliseconds since the epoch at midnight UTC of `day` (MLflow's unit for start_time)."""
    return int(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC).timestamp() * 1000)


def from_ms(ms: int) -> dt.datetime:
    """An MLflow millisecond timestamp as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


@dataclass(frozen=True)
class WeekWindow:
    """An ISO week as the half-open UTC interval [start, end), in dates and in milliseconds."""

    week: str
    start: dt.date
    end: dt.date

    @classmethod
    def of(cls, week: str) -> WeekWindow:
        """The window of an ISO week label such as '2025-W03' (raises ReportWeekError)."""
        start, end = iso_week_bounds(week)
        return cls(week, start, end)

    @property
    def start_ms(self) -> int:
        return _ms(self.start)

    @property
    def end_ms(self) -> int:
        return _ms(self.end)

    @property
    def start_at(self) -> dt.datetime:
        """Monday 00:00 UTC."""
        return from_ms(self.start_ms)

    @property
    def end_at(self) -> dt.datetime:
        """The next Monday 00:00 UTC (exclusive)."""
        return from_ms(self.end_ms)

    @property
    def run_filter(self) -> str:
        """The MLflow filter that keeps the runs started inside the week (milliseconds)."""
        return f"attributes.start_time >= {self.start_ms} AND attributes.start_time < {self.end_ms}"

    def contains(self, when: dt.datetime) -> bool:
        """True when an aware datetime falls inside the week."""
        return self.start_at <= when < self.end_at


@dataclass(frozen=True)
class ProjectExperiments:
    """The project's experiment ids mapped to their phase key ('foundation'... 'monitoring')."""

    phase_of: dict[str, str]

    @property
    def phase_ids(self) -> list[str]:
        """Ids of the four phase experiments, in phase order."""
        return [eid for eid, phase in self.phase_of.items() if phase != MONITORING_PHASE]

    @property
    def monitoring_ids(self) -> list[str]:
        return [eid for eid, phase in self.phase_of.items() if phase == MONITORING_PHASE]

    @property
    def all_ids(self) -> list[str]:
        return list(self.phase_of)


def project_experiments(client: MlflowClient) -> ProjectExperiments:
    """Look up the phase and monitoring experiments by name; absent ones are left out."""
    names = [(p.experiment, p.key) for p in PHASES] + [(MONITORING_EXPERIMENT, MONITORING_PHASE)]
    phase_of: dict[str, str] = {}
    for name, key in names:
        experiment = client.get_experiment_by_name(name)
        if experiment is not None and experiment.lifecycle_stage == "active":
            phase_of[experiment.experiment_id] = key
    return ProjectExperiments(phase_of)


@dataclass(frozen=True)
class WeekRuns:
    """The runs started in a week, and whether the cap cut the list short."""

    runs: tuple[Run, ...]
    truncated: bool = False


def runs_in_week(
    client: MlflowClient,
    experiment_ids: Sequence[str],
    window: WeekWindow,
    *,
    max_runs: int = MAX_RUNS_PER_WEEK,
    page_size: int = RUN_PAGE_SIZE,
) -> WeekRuns:
    """Every run (child runs included) started in the week, newest first, at most `max_runs`."""
    if not experiment_ids:
        return WeekRuns(())
    runs: list[Run] = []
    token: str | None = None
    while len(runs) < max_runs:
        page = client.search_runs(
            list(experiment_ids),
            filter_string=window.run_filter,
            max_results=min(page_size, max_runs - len(runs)),
            order_by=["attributes.start_time DESC"],
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            return WeekRuns(tuple(runs))
    return WeekRuns(tuple(runs[:max_runs]), truncated=True)


def is_top_level(run: Run) -> bool:
    """False for ensemble members and backtest folds, which are logged as child runs."""
    return PARENT_TAG not in run.data.tags


def versions_registered_between(
    client: MlflowClient,
    name: str,
    start_ms: int,
    end_ms: int,
    *,
    page_size: int = VERSION_PAGE_SIZE,
    max_scanned: int = MAX_VERSIONS_SCANNED,
) -> list[ModelVersion]:
    """Versions of model `name` created in [start_ms, end_ms), oldest first.

    Pages the versions newest first and stops at the first one created before `start_ms`, so
    only the recent end of the registry is read.
    """
    found: list[ModelVersion] = []
    token: str | None = None
    scanned = 0
    escaped = name.replace("'", "\\'")
    while scanned < max_scanned:
        page = client.search_model_versions(
            filter_string=f"name = '{escaped}'",
            max_results=page_size,
            order_by=["creation_timestamp DESC", "version_number DESC"],
            page_token=token,
        )
        scanned += len(page)
        for version in page:
            created = registered_ms(version)
            if created < start_ms:
                return sorted(found, key=lambda v: (registered_ms(v), int(v.version)))
            if created < end_ms:
                found.append(version)
        token = page.token
        if not token:
            break
    return sorted(found, key=lambda v: (registered_ms(v), int(v.version)))


def registered_ms(version: ModelVersion) -> int:
    """When a version was registered, in ms: its `registered_at` tag (the governance clock, the
    simulated day in a replay), else the registry's own creation time."""
    text = (version.tags or {}).get("registered_at")
    if text:
        try:
            when = dt.datetime.fromisoformat(text)
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
            return int(when.timestamp() * 1000)
        except ValueError:
            pass
    return int(version.creation_timestamp or 0)


def version_by_alias(client: MlflowClient, name: str, alias: str) -> VersionInfo | None:
    """The version holding `alias`, read through the registry's view (governance), or None
    when the model or the alias does not exist."""
    return RegistryView(client, name).by_alias(alias)


def get_run_or_none(client: MlflowClient, run_id: str | None) -> Run | None:
    """One run by id, or None when the id is empty or the run was deleted from the store."""
    if not run_id:
        return None
    try:
        return client.get_run(run_id)
    except MlflowException as exc:
        if exc.error_code in _NOT_FOUND_CODES:
            return None
        raise


def latest_backtest_run(
    client: MlflowClient, experiment_ids: Sequence[str], version: str, before_ms: int
) -> Run | None:
    """The newest finished walk-forward backtest run tagged model_version=`version`.

    Governance's bounded search (a tag filter and max_results=1) in `experiment_ids`; runs
    started after `before_ms` (the end of the reported week) are ignored so an old week's
    report stays what it was.
    """
    return latest_backtest(client, version, experiment_ids=experiment_ids, before_ms=before_ms)


def download_bets(client: MlflowClient, run_id: str) -> pd.DataFrame | None:
    """The backtest run's bets.csv as a frame, or None when the run has no such artifact."""
    listed = {item.path for item in client.list_artifacts(run_id)}
    if BETS_ARTIFACT not in listed:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        local = client.download_artifacts(run_id, BETS_ARTIFACT, tmp)
        return pd.read_csv(Path(local))


def audit_entries_in_week(audit: AuditTrail, window: WeekWindow) -> list[AuditEntry]:
    """Audit entries stamped inside the week, oldest first."""
    return [e for e in audit.since(window.start_at) if window.contains(e.at)]


def top_level_runs(runs: Iterable[Run]) -> list[Run]:
    """The runs that are not children of another run."""
    return [r for r in runs if is_top_level(r)]
