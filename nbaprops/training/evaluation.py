"""Everything measured about a fitted props model on a validation window, without MLflow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nbaprops.betting.metrics import (
    brier_score,
    calibration_curve_points,
    expected_calibration_error,
    sharpness,
)
from nbaprops.training.fit import FittedPropsModel
from nbaprops.training.props import over_outcome
from nbaprops.training.regression_metrics import (
    error_analysis,
    regression_metrics,
    segmented_mae,
)


@dataclass(frozen=True)
class Evaluation:
    """Metrics, per-row predictions and per-prop probabilities of one validation window."""

    metrics: dict[str, float]
    predictions: pd.DataFrame
    props: pd.DataFrame
    errors: pd.DataFrame
    calibration_curves: dict[str, tuple[np.ndarray, np.ndarray]]
    confusion: np.ndarray


def _probability_metrics(
    props: pd.DataFrame,
) -> tuple[dict[str, float], dict[str, tuple[np.ndarray, np.ndarray]], np.ndarray]:
    settled = props[~props["push"]]
    y = settled["went_over"].to_numpy(dtype=float)
    metrics: dict[str, float] = {"n_val_props": float(len(settled))}
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for column, suffix, label in (("p_over", "", "calibrated"), ("p_over_raw", "_raw", "raw")):
        p = settled[column].to_numpy(dtype=float)
        if len(p) == 0:
            continue
        metrics[f"brier_score{suffix}"] = float(brier_score(p, y))
        metrics[f"calibration_error{suffix}"] = float(expected_calibration_error(p, y))
        metrics[f"sharpness{suffix}"] = float(sharpness(p))
        points = calibration_curve_points(p, y)
        curves[label] = (np.asarray(points["mean_p"]), np.asarray(points["mean_y"]))
    predicted_over = settled["p_over"].to_numpy() > 0.5
    actual_over = y.astype(bool)
    confusion = np.array(
        [
            [np.sum(~actual_over & ~predicted_over), np.sum(~actual_over & predicted_over)],
            [np.sum(actual_over & ~predicted_over), np.sum(actual_over & predicted_over)],
        ]
    )
    if len(settled):
        metrics["over_accuracy"] = float(np.mean(predicted_over == actual_over))
    return metrics, curves, confusion


def evaluate(
    fitted: FittedPropsModel,
    X: pd.DataFrame,
    y: np.ndarray,
    segments: pd.DataFrame,
    props: pd.DataFrame,
    baseline: np.ndarray,
    oracle: np.ndarray | None,
    prefix: str = "val",
) -> Evaluation:
    """Regression, segmented, baseline, oracle and probability metrics on one window.

    `segments` (tier, season, home, b2b, plus identifying columns) and `baseline`/`oracle`
    (point predictions of a rolling average and of the generator's true mean) align with X;
    `props` has a `row` column indexing X positionally.
    """
    pred = fitted.predict(X)
    metrics = regression_metrics(y, pred, prefix)
    metrics.update(segmented_mae(y, pred, segments))
    base_mae = float(np.mean(np.abs(y - baseline)))
    metrics["baseline_mae"] = base_mae
    metrics["mae_vs_baseline"] = metrics[f"{prefix}_mae"] / base_mae
    if oracle is not None and not np.isnan(oracle).all():
        ok = ~np.isnan(oracle)
        metrics["oracle_mae"] = float(np.mean(np.abs(y[ok] - oracle[ok])))
        metrics["mae_vs_oracle"] = float(np.mean(np.abs(y[ok] - pred[ok]))) / metrics["oracle_mae"]

    rows = props["row"].to_numpy()
    with_lines = np.unique(rows)
    if len(with_lines):
        # the population the live monitor sees: players with a line that day
        metrics["val_mae_props"] = float(np.mean(np.abs(y[with_lines] - pred[with_lines])))
    line = props["line"].to_numpy(dtype=float)
    tiers = segments["tier"].to_numpy()[rows]
    went_over, push = over_outcome(y[rows], line)
    scored = props.assign(
        prediction=pred[rows],
        actual=y[rows],
        p_over_raw=fitted.raw_prob_over(pred[rows], line, tiers),
        p_over=fitted.prob_over(pred[rows], line, tiers),
        went_over=went_over,
        push=push,
    )
    prob_metrics, curves, confusion = _probability_metrics(scored)
    metrics.update(prob_metrics)
    predictions = segments.assign(actual=y, prediction=pred, error=pred - y, baseline=baseline)
    return Evaluation(
        metrics=metrics,
        predictions=predictions,
        props=scored,
        errors=error_analysis(y, pred, segments[["tier", "season", "home", "b2b"]]),
        calibration_curves=curves,
        confusion=confusion,
    )


def training_metrics(fitted: FittedPropsModel, X: pd.DataFrame, y: np.ndarray) -> dict[str, float]:
    """The in-sample figures (train_mae, train_rmse, train_r2, train_mape) over the whole
    training window: set beside the validation figures, how far the model fits its own rows
    better than unseen ones."""
    return regression_metrics(y, fitted.predict(X), "train")
