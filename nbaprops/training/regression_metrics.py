"""Regression metrics with the guide's names, overall and by segment (tier, season, context)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nbaprops.seasons import metric_suffix

TIER_METRICS: dict[str, str] = {
    "star": "mae_tier1_stars",
    "rotation": "mae_tier2_rotation",
    "bench": "mae_tier3_bench",
}


def mae(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(np.asarray(y, float) - np.asarray(pred, float))))


def regression_metrics(y: np.ndarray, pred: np.ndarray, prefix: str) -> dict[str, float]:
    """MAE, RMSE, R² and MAPE (over rows with a non-zero target, where it is defined)."""
    y = np.asarray(y, float)
    pred = np.asarray(pred, float)
    err = y - pred
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    nonzero = y != 0
    mape = float(np.mean(np.abs(err[nonzero] / y[nonzero]))) if nonzero.any() else float("nan")
    return {
        f"{prefix}_mae": float(np.mean(np.abs(err))),
        f"{prefix}_rmse": float(np.sqrt(np.mean(err**2))),
        f"{prefix}_r2": 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else float("nan"),
        f"{prefix}_mape": mape,
    }


def segmented_mae(
    y: np.ndarray, pred: np.ndarray, segments: pd.DataFrame, prefix: str = "mae"
) -> dict[str, float]:
    """MAE by tier, season, home/away and back-to-back; `segments` has tier, season, home, b2b.

    With prefix 'wf_mae' the season metrics read wf_mae_2023_24 and so on.
    """
    y = np.asarray(y, float)
    pred = np.asarray(pred, float)
    abs_err = np.abs(y - pred)
    out: dict[str, float] = {}
    tiers = segments["tier"].to_numpy()
    for tier, name in TIER_METRICS.items():
        mask = tiers == tier
        if mask.any():
            out[name if prefix == "mae" else f"{prefix}_{name[4:]}"] = float(abs_err[mask].mean())
    seasons = segments["season"].to_numpy()
    for season in sorted(set(seasons)):
        out[f"{prefix}_{metric_suffix(str(season))}"] = float(abs_err[seasons == season].mean())
    home = segments["home"].to_numpy()
    for flag, name in ((1, "home"), (0, "away")):
        mask = home == flag
        if mask.any():
            out[f"{prefix}_{name}"] = float(abs_err[mask].mean())
    b2b = segments["b2b"].to_numpy().astype(bool)
    if b2b.any():
        out[f"{prefix}_b2b"] = float(abs_err[b2b].mean())
    return out


def error_analysis(y: np.ndarray, pred: np.ndarray, segments: pd.DataFrame) -> pd.DataFrame:
    """One row per (dimension, segment): count, MAE, bias, RMSE; written as error_analysis.csv."""
    frame = segments.assign(err=np.asarray(pred, float) - np.asarray(y, float))
    frame["b2b"] = frame["b2b"].map({True: "b2b", False: "rested"})
    frame["home"] = frame["home"].map({1: "home", 0: "away"})
    rows = []
    for dimension in ("tier", "season", "home", "b2b"):
        for value, part in frame.groupby(dimension, sort=True):
            err = part["err"].to_numpy()
            rows.append(
                {
                    "dimension": dimension,
                    "segment": value,
                    "count": len(err),
                    "mae": float(np.abs(err).mean()),
                    "bias": float(err.mean()),
                    "rmse": float(np.sqrt((err**2).mean())),
                }
            )
    return pd.DataFrame(rows)
