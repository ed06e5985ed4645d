"""The drift job: compare the Production model's recent inputs, predictions and settled results
with its training reference; log a monitoring run; roll back automatically on a breach."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from governance.drift import DriftReport, assess_drift
from governance.lifecycle import Lifecycle
from governance.policy import DriftPolicy
from governance.promotion import NoPreviousVersion
from governance.registry import PRODUCTION
from governance.serving import ServedModel, load_version
from jobs.daemon.types import JobResult
from jobs.loop.context import JobContext
from jobs.loop.live_predictions import LivePredictions, SettledWindow
from nbaprops.tracking.plots import psi_plot
from nbaprops.tracking.runlog import log_metrics, start_tracked_run, write_json
from nbaprops.tracking.setup import MONITORING_EXPERIMENT, fluent_store
from nbaprops.training.prepare import PreparedData

#: Player-form features that should be stationary across seasons. Left out by design: counters
#: (games_in_history) and the target's own averages, which move every season, and team-level
#: features (PACE_L15, OPP_DRTG), which take one value per team-game: with a few teams their
#: distribution is a handful of spikes and a new season's team ratings always look "major".
MONITORED_FEATURES: tuple[str, ...] = ("USG_L15_EWMA", "PSA_L15_EWMA", "Minutes_L5_Mean")
REFERENCE_ROWS = 20_000


def _training_window(ctx: JobContext, served: ServedModel) -> tuple[pd.Timestamp, pd.Timestamp]:
    with fluent_store(ctx.client):
        text = mlflow.artifacts.load_text(f"runs:/{served.version.run_id}/training_config.json")
    config = json.loads(text)
    first, last = config["train_dates"]
    return pd.Timestamp(first), pd.Timestamp(last)


def _frames(
    ctx: JobContext, served: ServedModel, data: PreparedData
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """Reference (training window) and current (recent days) features and predictions."""
    first, last = _training_window(ctx, served)
    dates = data.dates
    reference = np.flatnonzero(((dates >= first) & (dates <= last)).to_numpy())[-REFERENCE_ROWS:]
    since = pd.Timestamp(ctx.run_for - dt.timedelta(days=ctx.settings.drift_window_days))
    current = np.flatnonzero((dates >= since).to_numpy())
    X = data.X
    columns = [c for c in MONITORED_FEATURES if c in X.columns]
    ref_x, cur_x = X.iloc[reference].reset_index(drop=True), X.iloc[current].reset_index(drop=True)
    return (
        ref_x[columns],
        cur_x[columns],
        served.model.predict(ref_x),
        served.model.predict(cur_x),
    )


def _drift_plot(report: DriftReport, path: Path) -> Path:
    psi = {f.name: f.psi for f in report.features} | {"predictions": report.prediction_psi}
    return psi_plot(psi, path, f"Drift: live MAE ratio {report.live_mae_ratio:.2f}")


def _log_drift_run(ctx: JobContext, version: str, report: DriftReport, live_mae: float) -> str:
    tags = {
        "check": "drift",
        "model_version": version,
        "registered_model": ctx.model_name,
        "breached": str(report.breached).lower(),
        "reasons": "; ".join(report.reasons),
        "run_for": str(ctx.run_for),
        "project": "nba_props",
    }
    with start_tracked_run(
        ctx.experiment_id(MONITORING_EXPERIMENT),
        f"{ctx.run_for:%Y%m%d}_drift_v{version}",
        tags,
        ctx.replayed_start,
        client=ctx.client,
    ) as run:
        log_metrics(
            {
                "psi_max": report.psi_max,
                "prediction_psi": report.prediction_psi,
                "live_mae_ratio": report.live_mae_ratio,
                "live_mae": live_mae,
                "live_settled_count": float(report.settled_count),
                "rolling_calibration_error": report.rolling_calibration_error,
                "breached": float(report.breached),
            }
        )
        with tempfile.TemporaryDirectory() as tmp:
            write_json(Path(tmp) / "drift.json", report.to_dict())
            _drift_plot(report, Path(tmp) / "drift.png")
            mlflow.log_artifacts(tmp)
    return str(run.info.run_id)


#: Reading stops doubling the window at this many settled rows.
MAX_SETTLED_READ = 64_000


def settled_for_every_rule(
    live: LivePredictions, version: str, rules: DriftPolicy
) -> SettledWindow:
    """Enough settled rows for every drift rule: the MAE rule reads the last mae_window, the
    calibration rule the last calibration_window priced, decided bets (and counts only from
    min_calibration_bets). Pushes and unpriced rows carry no probability, so the read doubles
    until enough priced rows are in or the history runs out."""
    need_priced = max(rules.calibration_window, rules.min_calibration_bets)
    limit = max(rules.mae_window, rules.min_settled_predictions, need_priced)
    while True:
        window = live.settled_window(version, limit)
        enough = window.probabilities.size >= need_priced
        if enough or window.count < limit or limit >= MAX_SETTLED_READ:
            return window
        limit *= 2


def check_drift(ctx: JobContext) -> JobResult:
    """Assess drift of the Production version; roll back to the previous one on a breach."""
    lifecycle = Lifecycle(ctx.client, ctx.engine, ctx.model_name, ctx.now, ctx.actor)
    production = lifecycle.view.by_alias(PRODUCTION)
    if production is None:
        return JobResult.skipped("no Production model to watch")
    served = load_version(ctx.client, production.version, ctx.model_name)
    data = ctx.known_features(ctx.settings.target, served.feature_set)
    ref_x, cur_x, ref_pred, cur_pred = _frames(ctx, served, data)
    if cur_x.empty:
        return JobResult.skipped("no recent games to compare", model_version=production.version)
    live = LivePredictions(ctx.engine)
    live.ensure_schema()
    window = settled_for_every_rule(live, production.version, ctx.policy.drift)
    val_mae = served.val_mae_props or served.val_mae or float("nan")
    report = assess_drift(
        ref_x,
        cur_x,
        ref_pred,
        cur_pred,
        window.abs_errors,
        val_mae,
        window.probabilities,
        window.outcomes,
        ctx.policy,
    )
    recent = window.abs_errors[-ctx.policy.drift.mae_window :]
    live_mae = float(recent.mean()) if recent.size else float("nan")
    run_id = _log_drift_run(ctx, production.version, report, live_mae)
    summary: dict[str, Any] = {
        "model_version": production.version,
        "run_id": run_id,
        "breached": report.breached,
        "reasons": report.reasons,
        "live_mae_ratio": None if np.isnan(report.live_mae_ratio) else report.live_mae_ratio,
        "settled": window.count,
    }
    if report.breached:
        reason = "drift: " + "; ".join(report.reasons)
        try:
            result = lifecycle.rollback(reason)
            summary["rollback"] = result.to_dict()
        except NoPreviousVersion as exc:
            summary["rollback"] = {"refused": str(exc)}
    return JobResult.succeeded(summary)
