"""Log a walk-forward backtest: one parent run, one nested child run per fold.

Folds run in worker processes without MLflow; all logging happens here, in the parent, once the
results are in, so no worker ever touches the store.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mlflow.tracking import MlflowClient

from nbaprops.backtest.executor import Progress
from nbaprops.backtest.pinning import BETTING_TAG, RECIPE_TAG, betting_digest, recipe_digest
from nbaprops.backtest.walkforward import (
    BacktestResult,
    BacktestSpec,
    calibration_points,
    run_backtest,
)
from nbaprops.betting.ledger import EDGE_BUCKETS
from nbaprops.betting.metrics import SHARPE_CONVENTION
from nbaprops.seasons import metric_suffix
from nbaprops.tracking.naming import run_name
from nbaprops.tracking.plots import bankroll_plot, calibration_plot, roi_by_edge_plot
from nbaprops.tracking.runlog import (
    code_version,
    log_run_batch,
    start_in_fork,
    start_tracked_run,
    write_csv,
    write_json,
)
from nbaprops.training.prepare import PreparedData


@dataclass(frozen=True)
class TrackedBacktest:
    """The logged parent run and the backtest's result."""

    run_id: str
    run_name: str
    result: BacktestResult


def window_label(result: BacktestResult) -> str:
    """The test window as 'YYYY-MM-DD..YYYY-MM-DD' (end exclusive): champion and challenger
    are compared only on the same window."""
    start, end = result.window
    return f"{start.date()}..{end.date()}"


def _write_artifacts(folder: Path, result: BacktestResult) -> None:
    write_csv(result.ledger.bets, folder / "bets.csv")
    if result.sanity is not None:
        write_csv(result.sanity.books, folder / "book_sanity.csv")
    for season, part in result.predictions.groupby("season"):
        write_csv(part, folder / f"predictions_{metric_suffix(str(season))}.csv")
    bankroll_plot(
        {"flat stakes": result.ledger.equity_flat, "fractional Kelly": result.ledger.equity_kelly},
        folder / "bankroll.png",
    )
    calibration_plot(
        {"walk-forward": calibration_points(result.props)}, folder / "calibration_curve.png"
    )
    bets = result.ledger.bets
    counts = {
        name: int(((bets["edge"] >= lo) & (bets["edge"] < hi)).sum())
        for name, (lo, hi) in EDGE_BUCKETS.items()
    }
    roi_by_edge_plot(
        {name: result.metrics.get(name, float("nan")) for name in EDGE_BUCKETS},
        counts,
        folder / "roi_by_edge.png",
    )
    write_json(
        folder / "folds.json",
        [
            {
                "fold": f.index,
                "train_end_exclusive": str(f.train_end.date()),
                "test_start": str(f.test_start.date()),
                "test_end_exclusive": str(f.test_end.date()),
                "n_train": f.n_train,
                "n_test": len(f.predictions),
                "fit_seconds": round(f.fit_seconds, 3),
            }
            for f in result.folds
        ],
    )


def _log_fold_runs(
    client: MlflowClient, result: BacktestResult, parent_name: str, experiment_id: str, parent: str
) -> None:
    """One child run per fold, each written in three calls (create, one batch, terminate)."""
    from mlflow.tracking.context.registry import resolve_tags

    # what a nested start_run would tag (user, source, the job's run), resolved once
    context = resolve_tags({"mlflow.parentRunId": parent})
    bets = result.ledger.bets
    for fold in result.folds:
        child_name = f"{parent_name}_fold{fold.index:02d}"
        child = client.create_run(
            experiment_id,
            run_name=child_name,
            tags={
                **context,
                "mlflow.runName": child_name,
                "fold": str(fold.index),
                "train_end_exclusive": str(fold.train_end.date()),
                "test_start": str(fold.test_start.date()),
                "test_end_exclusive": str(fold.test_end.date()),
            },
        )
        err = fold.predictions["actual"] - fold.predictions["prediction"]
        in_fold = (bets["game_date"] >= fold.test_start) & (bets["game_date"] < fold.test_end)
        in_fold &= bets["result"].isin(["win", "loss"])
        stake = float(bets.loc[in_fold, "stake_flat"].sum())
        status = "FAILED"
        try:
            log_run_batch(
                client,
                child.info.run_id,
                metrics={
                    "fold_mae": float(np.mean(np.abs(err))),
                    "n_train": float(fold.n_train),
                    "n_test": float(len(fold.predictions)),
                    "fit_seconds": fold.fit_seconds,
                    "bet_count": float(in_fold.sum()),
                    "fold_roi": float(bets.loc[in_fold, "profit_flat"].sum()) / stake
                    if stake
                    else float("nan"),
                },
            )
            status = "FINISHED"
        finally:
            client.set_terminated(child.info.run_id, status)


def _result_tags(result: BacktestResult) -> dict[str, str]:
    """The tags the result decides: its window, and any warning a reader must see."""
    tags = {"backtest_window": window_label(result)}
    if result.warnings:
        tags["leakage_suspected"] = "; ".join(result.warnings)
    if result.sanity is not None and result.sanity.set_aside:
        tags["books_set_aside"] = ",".join(result.sanity.set_aside)
    if result.market_warnings:
        tags["price_sanity"] = "; ".join(result.market_warnings)[:4900]
    return tags


def run_tracked_backtest(
    data: PreparedData,
    spec: BacktestSpec,
    experiment_id: str,
    day: dt.date,
    feature_set: str = "full",
    progress: Progress | None = None,
    extra_tags: dict[str, str] | None = None,
    started_at: dt.datetime | None = None,
    *,
    client: MlflowClient,
) -> TrackedBacktest:
    """Run the backtest and log it in client's store; the parent run FAILS if anything raises."""
    name = run_name(day, spec.model_type, feature_set, f"wf-refit{spec.refit_days}d")
    tags = {
        "model_type": spec.model_type,
        "feature_set": feature_set,
        "feature_set_version": data.features.version,
        "target": data.target,
        "data_digest": data.feed_digest,
        "data_source": data.source,
        "code_version": code_version(),
        "backtest": "walk_forward",
        "sharpe_convention": SHARPE_CONVENTION,
        "line_shopping": str(spec.line_shopping).lower(),
        RECIPE_TAG: recipe_digest(
            spec.model_type, spec.params, spec.calibration, feature_set, data.target
        ),
        BETTING_TAG: betting_digest(
            spec.edge_threshold,
            spec.kelly_multiplier,
            spec.kelly_cap,
            spec.line_shopping,
            spec.min_history_games,
        ),
        "project": "nba_props",
        **(extra_tags or {}),
    }
    with start_tracked_run(experiment_id, name, tags, started_at, client=client) as run:
        run_id = run.info.run_id
        result = run_backtest(data, spec, progress)
        params = {
            "refit_days": spec.refit_days,
            "edge_threshold": spec.edge_threshold,
            "kelly_multiplier": spec.kelly_multiplier,
            "kelly_cap": spec.kelly_cap,
            "calibration": spec.calibration,
            "min_history_games": spec.min_history_games,
            "n_folds": len(result.folds),
            "test_seasons": ",".join(sorted(result.predictions["season"].unique())),
            **{f"model.{k}": v for k, v in spec.params.items()},
        }
        with tempfile.TemporaryDirectory() as tmp:
            # the plots and tables are drawn in a forked process while the runs are written
            wait_for_artifacts = start_in_fork(lambda: _write_artifacts(Path(tmp), result))
            try:
                log_run_batch(
                    client, run_id, metrics=result.metrics, params=params, tags=_result_tags(result)
                )
                _log_fold_runs(client, result, name, experiment_id, run_id)
            finally:
                wait_for_artifacts()
            client.log_artifacts(run_id, tmp)
    return TrackedBacktest(run.info.run_id, name, result)
