"""Fill a `WeeklyReport` from the tracking store, the model registry and the audit trail.

Per report: one week-bounded run search (paged) for the week and one for the week before, one
paged scan of the newest model versions, the Production alias, its training run and its latest
backtest run (max_results=1) with that run's bets.csv, and the audit entries of the week.
None of it grows with the length of the history. The season trend (trend.py) adds reads bounded
by the season (July 1 to the week's end) and capped, so it grows with one season at most.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.tracking import MlflowClient

from governance.audit import AuditTrail
from jobs.report.model import (
    Change,
    DriftRow,
    ModelVersionRef,
    RunRef,
    WeeklyReport,
    previous_week,
)
from jobs.report.production import production_view, with_live_record
from jobs.report.queries import (
    DEFAULT_MODEL_NAME,
    MAX_RUNS_PER_WEEK,
    ProjectExperiments,
    WeekWindow,
    audit_entries_in_week,
    from_ms,
    project_experiments,
    registered_ms,
    runs_in_week,
    versions_registered_between,
)
from jobs.report.summarize import (
    PhasedRun,
    average_training_time,
    best_by_phase,
    best_ref,
    decision_rows,
    drift_rows,
    monitoring_runs,
    phased,
    runs_by_phase,
    val_mae_points,
)
from jobs.report.trend.collect import collect_trend
from jobs.report.trend.model import season_of_week, this_week_point


@dataclass(frozen=True)
class WeekActivity:
    """What one week's runs say, computed the same way for this week and the week before."""

    runs: tuple[PhasedRun, ...]
    monitoring: tuple[Run, ...]
    drift: tuple[DriftRow, ...]
    best_val_mae: RunRef | None
    best_wf_roi: RunRef | None
    avg_training_time_s: float | None
    children: int
    truncated: bool

    @property
    def run_count(self) -> int:
        return len(self.runs)

    @property
    def drift_breaches(self) -> int:
        return sum(1 for row in self.drift if row.breached)


def week_activity(
    client: MlflowClient,
    experiments: ProjectExperiments,
    window: WeekWindow,
    max_runs: int = MAX_RUNS_PER_WEEK,
) -> WeekActivity:
    """Search the week's runs once and summarise them."""
    fetched = runs_in_week(client, experiments.all_ids, window, max_runs=max_runs)
    runs = phased(fetched.runs, experiments.phase_of)
    monitoring = monitoring_runs(fetched.runs, experiments.phase_of)
    return WeekActivity(
        runs=tuple(runs),
        monitoring=tuple(monitoring),
        drift=drift_rows(monitoring),
        best_val_mae=best_ref(runs, "val_mae", higher_is_better=False),
        best_wf_roi=best_ref(runs, "wf_roi", higher_is_better=True),
        avg_training_time_s=average_training_time(runs),
        children=sum(1 for r in fetched.runs if "mlflow.parentRunId" in r.data.tags),
        truncated=fetched.truncated,
    )


def _version_ref(version: ModelVersion) -> ModelVersionRef:
    tags = version.tags or {}
    return ModelVersionRef(
        version.name,
        str(version.version),
        tags.get("semver"),
        tags.get("lifecycle", "none"),
        version.run_id or tags.get("run_id", ""),
        from_ms(registered_ms(version)),
    )


def week_changes(
    this: WeekActivity, last: WeekActivity, registered: tuple[int, int]
) -> tuple[Change, ...]:
    """Headline figures of this week against the week before."""
    best = this.best_val_mae.value if this.best_val_mae else None
    best_before = last.best_val_mae.value if last.best_val_mae else None
    roi = this.best_wf_roi.value if this.best_wf_roi else None
    roi_before = last.best_wf_roi.value if last.best_wf_roi else None
    return (
        Change("best val MAE", best, best_before, higher_is_better=False),
        Change("best walk-forward ROI", roi, roi_before, higher_is_better=True, kind="percent"),
        Change("runs", this.run_count, last.run_count, kind="count"),
        Change(
            "avg training time",
            this.avg_training_time_s,
            last.avg_training_time_s,
            higher_is_better=False,
            kind="seconds",
        ),
        Change("models registered", registered[0], registered[1], kind="count"),
        Change(
            "drift breaches",
            this.drift_breaches,
            last.drift_breaches,
            higher_is_better=False,
            kind="count",
        ),
    )


def _notes(this: WeekActivity, audit: AuditTrail | None) -> tuple[str, ...]:
    notes = []
    if this.children:
        notes.append(
            f"{this.children} child runs (ensemble members, backtest folds) are counted "
            "through their parent runs."
        )
    if this.truncated:
        notes.append(
            f"More than {MAX_RUNS_PER_WEEK:,} runs started this week: the figures cover the "
            f"newest {MAX_RUNS_PER_WEEK:,}."
        )
    if audit is None:
        notes.append(
            "The audit trail was not available, so governance decisions are not listed; "
            "run `nbaprops audit` to check the state database."
        )
    return tuple(notes)


def collect_weekly_report(
    client: MlflowClient,
    audit: AuditTrail | None,
    week: str,
    now: dt.datetime,
    registered_model: str = DEFAULT_MODEL_NAME,
    live: sa.Engine | None = None,
) -> WeeklyReport:
    """Everything the weekly email shows for ISO week `week`, generated at `now`: the season's
    trend up to the week (live figures from the state database `live`), then the week itself."""
    window = WeekWindow.of(week)
    before = WeekWindow.of(previous_week(week))
    experiments = project_experiments(client)
    this = week_activity(client, experiments, window)
    last = week_activity(client, experiments, before)
    versions = versions_registered_between(client, registered_model, before.start_ms, window.end_ms)
    this_week_versions = [v for v in versions if registered_ms(v) >= window.start_ms]
    production = production_view(
        client, audit, registered_model, experiments, window, this.monitoring
    )
    decisions = decision_rows(audit_entries_in_week(audit, window)) if audit else ()
    trend = collect_trend(
        client, audit, live, registered_model, experiments, season_of_week(week), week
    )
    return WeeklyReport(
        week=week,
        start=window.start,
        end=window.end,
        generated_at=now,
        runs_by_phase=runs_by_phase(this.runs),
        best_val_mae=this.best_val_mae,
        best_wf_roi=this.best_wf_roi,
        models_registered=tuple(_version_ref(v) for v in this_week_versions),
        avg_training_time_s=this.avg_training_time_s,
        best_by_phase=best_by_phase(this.runs),
        decisions=decisions,
        drift_events=this.drift,
        production=with_live_record(production.status, this_week_point(trend, week)),
        vs_last_week=week_changes(
            this, last, (len(this_week_versions), len(versions) - len(this_week_versions))
        ),
        val_mae_over_time=val_mae_points(this.runs),
        bankroll=production.bankroll,
        calibration=production.calibration,
        notes=_notes(this, audit) + production.notes,
        trend=trend,
    )
