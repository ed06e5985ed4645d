"""One walk-forward fold, as a pure function that a worker process can run.

The fold trains only on rows dated strictly before its first test day (features, spread and
calibration included), then scores every prop of its test window at the opening price, with
the closing snapshot attached for closing-line value.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nbaprops.splits import Fold
from nbaprops.training.fit import calibration_props, fit_props_model
from nbaprops.training.prepare import PreparedData
from nbaprops.training.props import props_for_rows


@dataclass(frozen=True)
class FoldSpec:
    """What every fold fits: model type, overrides, calibration, filters, seed and threads."""

    model_type: str
    params: Mapping[str, Any]
    calibration: str
    min_history_games: int
    seed: int
    n_jobs: int


@dataclass(frozen=True)
class FoldResult:
    """Predictions and scored props of one fold's test window."""

    index: int
    train_end: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp
    n_train: int
    fit_seconds: float
    wall_seconds: float
    predictions: pd.DataFrame
    props: pd.DataFrame


class LeakageGuardError(RuntimeError):
    """A fold was about to train on a row dated on or after its first test day."""


def betting_props(segments: pd.DataFrame, lines: pd.DataFrame, market: str) -> pd.DataFrame:
    """Opening lines of the rows (one per book) with the same book's closing line attached."""
    opening = props_for_rows(segments, lines, market, snapshot="open")
    closing = lines[(lines["market"] == market) & (lines["snapshot"] == "close")][
        ["game_date", "player_id", "bookmaker", "line", "over_price", "under_price"]
    ].rename(
        columns={
            "line": "close_line",
            "over_price": "close_over_price",
            "under_price": "close_under_price",
        }
    )
    closing = closing.drop_duplicates(["game_date", "player_id", "bookmaker"], keep="last")
    return opening.merge(closing, on=["game_date", "player_id", "bookmaker"], how="left")


def run_fold(index: int, fold: Fold, data: PreparedData, spec: FoldSpec) -> FoldResult:
    """Fit on the fold's past, predict its test window, score its props."""
    started = time.perf_counter()
    eligible = data.history_games >= spec.min_history_games
    train = np.flatnonzero(fold.train_mask & eligible)
    test = np.flatnonzero(fold.test_mask & eligible)
    seg = data.segments
    if len(train) and seg["game_date"].iloc[train].max() >= fold.test_start:
        raise LeakageGuardError(
            f"fold {index} would train on {seg['game_date'].iloc[train].max().date()}, "
            f"on or after its first test day {fold.test_start.date()}"
        )
    train_seg = seg.iloc[train].reset_index(drop=True)
    fitted = fit_props_model(
        data.X.iloc[train].reset_index(drop=True),
        data.y[train],
        train_seg["game_date"],
        train_seg["tier"].to_numpy(),
        calibration_props(train_seg, data.lines, data.target),
        model_type=spec.model_type,
        overrides=spec.params,
        calibration=spec.calibration,
        seed=spec.seed,
        n_jobs=spec.n_jobs,
    )
    test_seg = seg.iloc[test].reset_index(drop=True)
    pred = fitted.predict(data.X.iloc[test].reset_index(drop=True))
    y = data.y[test]
    predictions = test_seg.assign(
        actual=y,
        prediction=pred,
        baseline=data.baseline[test],
        oracle=np.nan if data.oracle is None else data.oracle[test],
        fold=index,
    )
    props = betting_props(test_seg, data.lines, data.target)
    rows = props["row"].to_numpy()
    line = props["line"].to_numpy(dtype=float)
    tiers = test_seg["tier"].to_numpy()[rows]
    p_push = fitted.prob_push(pred[rows], line, tiers)
    props = props.assign(
        prediction=pred[rows],
        actual=y[rows],
        p_push=p_push,
        p_over=fitted.prob_over(pred[rows], line, tiers) * (1.0 - p_push),
        tier=tiers,
        season=test_seg["season"].to_numpy()[rows],
        fold=index,
    ).drop(columns=["row"])
    return FoldResult(
        index=index,
        train_end=fold.train_end,
        test_start=fold.test_start,
        test_end=fold.test_end,
        n_train=len(train),
        fit_seconds=fitted.fit_seconds,
        wall_seconds=time.perf_counter() - started,
        predictions=predictions,
        props=props,
    )
