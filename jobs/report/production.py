"""The Production section of the weekly report: the version behind the `production` alias,
its training metrics, its live results and the charts of its latest backtest.

Live results come from the week's monitoring runs (the drift check logs them); where those say
nothing, the week's settled live predictions in the state database (the trend's week) fill in,
so a quiet week still shows how Production is doing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from mlflow.entities import Run
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from governance.audit import AuditTrail
from governance.registry import VersionInfo
from jobs.report.backtest_series import bankroll_series, calibration_bins
from jobs.report.model import CalibrationBin, ProductionStatus
from jobs.report.queries import (
    PRODUCTION_ALIAS,
    ProjectExperiments,
    WeekWindow,
    download_bets,
    get_run_or_none,
    latest_backtest_run,
    version_by_alias,
)
from jobs.report.summarize import latest_live_run, live_numbers
from jobs.report.trend.model import WeekPoint


def _parse_when(text: str | None) -> dt.datetime | None:
    """An ISO timestamp tag as an aware datetime (naive ones are UTC), None if unparseable."""
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _promoted_at(version: VersionInfo, audit: AuditTrail | None) -> dt.datetime | None:
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


def with_live_record(
    status: ProductionStatus | None, week: WeekPoint | None
) -> ProductionStatus | None:
    """Fill the live figures the monitoring runs left empty from the week's settled live
    predictions (MAE over all of them, ROI and win rate over the flat -110 bets)."""
    if status is None or week is None or not week.live_settled:
        return status
    return dataclasses.replace(
        status,
        live_settled_count=status.live_settled_count or week.live_settled,
        live_mae=week.live_mae if status.live_mae is None else status.live_mae,
        live_roi=week.live_roi if status.live_roi is None else status.live_roi,
        live_win_rate=week.live_win_rate if status.live_win_rate is None else status.live_win_rate,
    )
