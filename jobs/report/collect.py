"""Fill a `WeeklyReport` from the tracking store, the model registry and the audit trail.

Per report: one week-bounded run search (paged) for the week and one for the week before, one
paged scan of the newest model versions, the Production alias, its training run and its latest
backtest run (max_results=1) with that run's bets.csv, and the audit entries of the week.
None of it grows with the length of the history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from governance.audit import AuditTrail
from jobs.report.backtest_series import bankroll_series, calibration_bins
from jobs.report.model import (
    CalibrationBin,
    Change,
    DriftRow,
    ModelVersionRef,
    ProductionStatus,
    RunRef,
    WeeklyReport,
    previous_week,
)
from jobs.report.queries import (
    DEFAULT_MODEL_NAME,
    MAX_RUNS_PER_WEEK,
    PRODUCTION_ALIAS,
    ProjectExperiments,
    WeekWindow,
    audit_entries_in_week,
    download_bets,
    from_ms,
    get_run_or_none,
    latest_backtest_run,
    project_experiments,
    registered_ms,
    runs_in_week,
    version_by_alias,
    versions_registered_between,
)
from jobs.report.summarize import (
    PhasedRun,
    average_training_time,
    best_by_phase,
    best_ref,
    decision_rows,
    drift_rows,
    latest_live_run,
    live_numbers,
    monitoring_runs,
    phased,
    runs_by_phase,
    val_mae_points,
)
from jobs.report.trend import collect_trend
from jobs.report.trend_model import season_of_week


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


def _parse_when(text: str | None) -> dt.datetime | None:
    """An ISO timestamp tag as an aware datetime (naive ones are UTC), None if unparseable."""
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _promoted_at(version: ModelVersion, audit: AuditTrail | None) -> dt.datetime | None:
    """The version's `production_at` tag, else its latest audited move into production."""
    tagged = _parse_when((version.tags or {}).get("production_at"))
    if tagged is not None or audit is None:
        return tagged
    moves = [
        e
        for e in audit.for_version(version.name, str(version.version))
        if (e.to_state or "").lower() == "production"
    ]
    return moves[-1].at if moves else None


@dataclass(frozen=True)
class ProductionView:
    """The Production section and the charts drawn from its latest backtest."""

    status: ProductionStatus | None
    bankroll: tuple[tuple[dt.date, float], ...] = ()
    calibration: tuple[CalibrationBin, ...] = ()
    notes: tuple[str, ...] = ()


def production_view(
    client: MlflowClient,
    audit: AuditTrail | None,
    name: str,
    experiments: ProjectExperiments,
    window: WeekWindow,
    monitoring: Sequence[Run],
) -> ProductionView:
    """The version behind the `production` alias, its metrics, live results and backtest."""
    version = version_by_alias(client, name, PRODUCTION_ALIAS)
    if version is None:
        return ProductionView(None)
    number = str(version.version)
    training = get_run_or_none(client, version.run_id)
    live = live_numbers(latest_live_run(monitoring, number))
    settled = live["live_settled_count"]
    status = ProductionStatus(
        name=name,
        version=number,
        semver=(version.tags or {}).get("semver"),
        promoted_at=_promoted_at(version, audit),
        val_mae=None if training is None else training.data.metrics.get("val_mae"),
        live_settled_count=0 if settled is None else int(settled),
        live_mae=live["live_mae"],
        live_roi=live["live_roi"],
        live_win_rate=live["live_win_rate"],
    )
    backtest = latest_backtest_run(client, experiments.phase_ids, number, window.end_ms)
    if backtest is None:
        return ProductionView(status)
    try:
        bets = download_bets(client, backtest.info.run_id)
        if bets is None:
            return ProductionView(status)
        return ProductionView(status, bankroll_series(bets), calibration_bins(bets))
    except (MlflowException, OSError, ValueError) as exc:
        # A missing or unreadable artifact costs two charts, never the whole report.
        note = (
            f"No bankroll or calibration chart: bets.csv of backtest run "
            f"{backtest.info.run_name} could not be read ({exc})."
        )
        return ProductionView(status, notes=(note,))


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
        production=production.status,
        vs_last_week=week_changes(
            this, last, (len(this_week_versions), len(versions) - len(this_week_versions))
        ),
        val_mae_over_time=val_mae_points(this.runs),
        bankroll=production.bankroll,
        calibration=production.calibration,
        notes=_notes(this, audit) + production.notes,
        trend=trend,
    )
