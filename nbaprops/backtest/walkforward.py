"""Walk-forward backtest: expanding-window folds, bets at the opening prices, honest metrics.

Pure with respect to MLflow (tracked.py logs the result). Metric names follow the guide:
wf_mae_<season>, wf_win_rate, wf_roi, wf_clv, brier_score, calibration_error, sharpness,
max_drawdown, sharpe_ratio, kelly_criterion, bet_count, roi_edge_small/medium/large, plus the
uncertainty that keeps luck from passing for edge: roi_lower_95, win_rate_lower_95 and
win_rate_p_value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nbaprops.backtest.executor import Progress, run_folds
from nbaprops.backtest.folds import FoldResult, FoldSpec
from nbaprops.backtest.market import consensus_metrics, empty_windows
from nbaprops.betting.bets import simulate_bets
from nbaprops.betting.concentration import concentration_metrics, concentration_warnings
from nbaprops.betting.ledger import BetLedger
from nbaprops.betting.metrics import (
    brier_score,
    calibration_curve_points,
    expected_calibration_error,
    roi,
    sharpness,
)
from nbaprops.betting.price_sanity import PriceSanity, screen_props
from nbaprops.seasons import metric_suffix
from nbaprops.splits import Fold, SplitError, walk_forward_folds
from nbaprops.training.prepare import PreparedData
from nbaprops.training.props import props_for_rows
from nbaprops.training.regression_metrics import segmented_mae

#: Summary keys renamed to the guide's walk-forward names; the rest keep their own.
_RENAMED = {"win_rate": "wf_win_rate", "roi": "wf_roi", "clv": "wf_clv", "clv_line": "wf_clv_line"}


@dataclass(frozen=True)
class BacktestSpec:
    """Which model, which test seasons, how often to refit and how to bet."""

    model_type: str = "xgboost"
    params: Mapping[str, Any] = field(default_factory=dict)
    calibration: str = "isotonic"
    seasons: Sequence[str] | None = None
    start: pd.Timestamp | None = None
    refit_days: int = 30
    edge_threshold: float = 0.02
    kelly_multiplier: float = 0.25
    kelly_cap: float = 0.02
    line_shopping: bool = True
    min_history_games: int = 3
    seed: int = 42
    workers: int = 2
    executor: str = "local"
    dask_address: str | None = None

    def fold_spec(self) -> FoldSpec:
        """Per-fold fit settings; folds share the cores, so each fit gets one thread per worker."""
        threads = 1 if self.workers > 1 else 2
        return FoldSpec(
            self.model_type,
            self.params,
            self.calibration,
            self.min_history_games,
            self.seed,
            threads,
        )


@dataclass(frozen=True)
class BacktestResult:
    """Every fold's output, the bet ledger and the metrics."""

    spec: BacktestSpec
    folds: list[FoldResult]
    predictions: pd.DataFrame
    props: pd.DataFrame
    ledger: BetLedger
    metrics: dict[str, float]
    window: tuple[pd.Timestamp, pd.Timestamp]
    warnings: tuple[str, ...] = ()
    #: Books set aside and rows refused by the price check, with the evidence.
    sanity: PriceSanity | None = None
    #: Sentences behind edge_concentration and the books set aside (not leakage).
    market_warnings: tuple[str, ...] = ()


def plan_folds(data: PreparedData, spec: BacktestSpec) -> list[Fold]:
    """Folds over the test seasons (default: the last season), or from `spec.start` on."""
    dates = data.dates
    if spec.start is not None:
        return walk_forward_folds(
            dates, spec.start, dates.max() + pd.Timedelta(days=1), spec.refit_days
        )
    seasons = list(spec.seasons or [sorted(data.segments["season"].unique())[-1]])
    known = set(data.segments["season"].unique())
    folds: list[Fold] = []
    for season in seasons:
        if season not in known:
            raise SplitError(
                f"season {season} is not in the data (it has {', '.join(sorted(known))}); "
                "pick one of those with --seasons"
            )
        in_season = dates[data.segments["season"] == season]
        folds += walk_forward_folds(
            dates, in_season.min(), in_season.max() + pd.Timedelta(days=1), spec.refit_days
        )
    return folds


def _one_prop_per_player_game(props: pd.DataFrame) -> pd.DataFrame:
    """Probability metrics count each player-game once (the first book), pushes excluded."""
    settled = props[props["actual"] != props["line"]]
    return settled.sort_values("bookmaker").drop_duplicates(["game_date", "player_id"])


def probability_metrics(props: pd.DataFrame) -> dict[str, float]:
    """Brier, ECE and sharpness of P(over | settled) over the test window's props."""
    unique = _one_prop_per_player_game(props)
    if unique.empty:
        return {}
    p = (unique["p_over"] / (1.0 - unique["p_push"])).clip(0.0, 1.0).to_numpy(dtype=float)
    y = (unique["actual"] > unique["line"]).to_numpy(dtype=float)
    return {
        "brier_score": float(brier_score(p, y)),
        "calibration_error": float(expected_calibration_error(p, y)),
        "sharpness": float(sharpness(p)),
        "n_scored_props": float(len(unique)),
    }


def calibration_points(props: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Reliability-diagram points of the test window's probabilities."""
    unique = _one_prop_per_player_game(props)
    p = (unique["p_over"] / (1.0 - unique["p_push"])).clip(0.0, 1.0).to_numpy(dtype=float)
    points = calibration_curve_points(p, (unique["actual"] > unique["line"]).to_numpy(float))
    return np.asarray(points["mean_p"]), np.asarray(points["mean_y"])


def segment_roi(ledger: BetLedger, props: pd.DataFrame) -> dict[str, float]:
    """ROI of the flat bankroll by player tier, season and home/away (decided bets only)."""
    bets = ledger.bets[ledger.bets["result"].isin(["win", "loss"])]
    if bets.empty:
        return {}
    context = props.drop_duplicates(["game_date", "player_id"])[
        ["game_date", "player_id", "tier", "season"]
    ]
    joined = bets.merge(context, on=["game_date", "player_id"], how="left")
    out: dict[str, float] = {}
    for column, prefix in (("tier", "roi_tier_"), ("season", "roi_")):
        for value, part in joined.groupby(column):
            out[f"{prefix}{metric_suffix(str(value))}"] = roi(
                part["profit_flat"], part["stake_flat"]
            )
    return out


def backtest_metrics(
    predictions: pd.DataFrame, props: pd.DataFrame, ledger: BetLedger
) -> dict[str, float]:
    """All walk-forward metrics of a finished backtest."""
    y = predictions["actual"].to_numpy(dtype=float)
    pred = predictions["prediction"].to_numpy(dtype=float)
    metrics: dict[str, float] = {"wf_mae": float(np.mean(np.abs(y - pred)))}
    metrics.update(segmented_mae(y, pred, predictions, prefix="wf_mae"))
    baseline = predictions["baseline"].to_numpy(dtype=float)
    ok = np.isfinite(baseline)
    metrics["wf_baseline_mae"] = float(np.mean(np.abs(y[ok] - baseline[ok])))
    oracle = predictions["oracle"].to_numpy(dtype=float)
    if np.isfinite(oracle).any():
        ok = np.isfinite(oracle)
        metrics["wf_oracle_mae"] = float(np.mean(np.abs(y[ok] - oracle[ok])))
    metrics.update(consensus_metrics(predictions, props))
    metrics.update(probability_metrics(props))
    summary = ledger.summary()
    metrics.update({_RENAMED.get(k, k): v for k, v in summary.items()})
    metrics.update(segment_roi(ledger, props))
    return metrics


#: A walk-forward MAE this far below the generator's oracle, or a win rate whose 95% lower bound
#: is this high, cannot come from past-only information: the run is flagged as leaking.
ORACLE_MAE_FLOOR = 0.9
WIN_RATE_BOUND_CEILING = 0.62


def leakage_warnings(metrics: Mapping[str, float]) -> list[str]:
    """Reasons to believe a backtest saw the future (empty when its results are plausible).

    No honest model beats the generator's own true mean by 10%, and against -110 prices a
    lasting win rate whose lower bound clears 62% is far beyond any published props model.
    """
    warnings = []
    oracle = metrics.get("wf_oracle_mae", float("nan"))
    if np.isfinite(oracle) and metrics["wf_mae"] < ORACLE_MAE_FLOOR * oracle:
        warnings.append(
            f"walk-forward MAE {metrics['wf_mae']:.3f} is below {ORACLE_MAE_FLOOR:.0%} of the "
            f"oracle's {oracle:.3f}: features or folds see the result"
        )
    bound = metrics.get("win_rate_lower_95", float("nan"))
    if np.isfinite(bound) and bound > WIN_RATE_BOUND_CEILING:
        warnings.append(
            f"win rate lower bound {bound:.3f} exceeds {WIN_RATE_BOUND_CEILING}: "
            "no past-only model wins that often against the closing market"
        )
    return warnings


def price_history(data: PreparedData) -> pd.DataFrame:
    """Every opening prop of the data with its result and season, for the past-only price check
    (it reads only days strictly before each bet's day)."""
    history = props_for_rows(data.segments, data.lines, data.target, snapshot="open")
    rows = history["row"].to_numpy()
    return history.assign(
        actual=np.asarray(data.y, dtype=float)[rows],
        season=data.segments["season"].to_numpy()[rows],
    ).drop(columns=["row"])


def sanity_metrics(sanity: PriceSanity) -> dict[str, float]:
    """How much the price check set aside: books, and rows refused."""
    return {
        "books_set_aside": float(len(sanity.set_aside)),
        "props_refused": float(len(sanity.refused)),
        "props_refused_two_way": float(
            (sanity.refused["refused_because"] != "book set aside by the price check").sum()
        ),
    }


def run_backtest(
    data: PreparedData, spec: BacktestSpec, progress: Progress | None = None
) -> BacktestResult:
    """Plan the folds, run them (in parallel), bet, and measure."""
    folds = plan_folds(data, spec)
    results = run_folds(
        data, folds, spec.fold_spec(), spec.workers, progress, spec.executor, spec.dask_address
    )
    predictions = pd.concat([r.predictions for r in results], ignore_index=True)
    props = pd.concat([r.props for r in results], ignore_index=True)
    sanity = screen_props(props, price_history(data))
    ledger = simulate_bets(
        sanity.kept,
        edge_threshold=spec.edge_threshold,
        kelly_multiplier=spec.kelly_multiplier,
        kelly_cap=spec.kelly_cap,
        line_shopping=spec.line_shopping,
    )
    metrics = backtest_metrics(predictions, props, ledger)
    metrics.update(sanity_metrics(sanity))
    metrics.update(concentration_metrics(ledger.bets))
    window = (folds[0].test_start, folds[-1].test_end)
    warnings = tuple(leakage_warnings(metrics))
    metrics["leakage_suspected"] = float(bool(warnings))
    market = (*empty_windows(results), *sanity.messages(), *concentration_warnings(ledger.bets))
    return BacktestResult(
        spec, results, predictions, props, ledger, metrics, window, warnings, sanity, market
    )
