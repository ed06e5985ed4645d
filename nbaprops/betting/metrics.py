"""Scores of a betting model: probability quality (Brier, ECE, sharpness) and money (ROI, win rate,
drawdown, Sharpe, Kelly, closing-line value).

Formulas are those of the project's domain reference; each function is pure and takes arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nbaprops.betting.odds import (
    ArrayLike,
    Prices,
    _like,
    american_to_implied,
    vig_free_probabilities,
)

DAYS_PER_YEAR = 165
SHARPE_CONVENTION = "daily returns, sqrt(165) betting days a year"
ECE_BINS = 10
SIDES: tuple[str, ...] = ("over", "under")


def _pair(p: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    p_arr = np.asarray(p, dtype=float).ravel()
    y_arr = np.asarray(y, dtype=float).ravel()
    if p_arr.shape != y_arr.shape:
        raise ValueError(f"p ({p_arr.size}) and y ({y_arr.size}) must have one entry per bet")
    return p_arr, y_arr


def brier_score(p: Any, y: Any) -> float:
    """Mean squared error of probabilities against 0/1 outcomes; always-0.5 scores 0.25."""
    p_arr, y_arr = _pair(p, y)
    return float(np.mean((p_arr - y_arr) ** 2)) if p_arr.size else float("nan")


def _bin_index(p: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bin of each probability on [0, 1]; p = 1 falls in the top bin."""
    return np.minimum((p * n_bins).astype(int), n_bins - 1)


def calibration_curve_points(p: Any, y: Any, n_bins: int = ECE_BINS) -> pd.DataFrame:
    """Reliability-diagram points of the non-empty equal-width bins.

    Columns: bin_centre, mean_p, mean_y, count.
    """
    p_arr, y_arr = _pair(p, y)
    frame = pd.DataFrame({"bin": _bin_index(p_arr, n_bins), "p": p_arr, "y": y_arr})
    grouped = frame.groupby("bin", sort=True).agg(
        mean_p=("p", "mean"), mean_y=("y", "mean"), count=("y", "size")
    )
    grouped.insert(0, "bin_centre", (grouped.index.to_numpy() + 0.5) / n_bins)
    return grouped.reset_index(drop=True)


def expected_calibration_error(p: Any, y: Any, n_bins: int = ECE_BINS) -> float:
    """Sum over equal-width bins of (n_b / N) |mean p_b - mean y_b|.

    Noise alone gives about 0.029 for a perfect model at N = 500, so small samples need a bound.
    """
    points = calibration_curve_points(p, y, n_bins)
    total = points["count"].sum()
    if total == 0:
        return float("nan")
    gaps = (points["mean_p"] - points["mean_y"]).abs()
    return float((points["count"] * gaps).sum() / total)


def sharpness(p: Any) -> float:
    """Standard deviation of predicted probabilities; reported beside ECE so that predicting
    0.5 everywhere (perfectly calibrated, useless) shows up as 0."""
    p_arr = np.asarray(p, dtype=float).ravel()
    return float(np.std(p_arr)) if p_arr.size else float("nan")


def roi(profit: Any, stake: Any) -> float:
    """Return on investment: total profit / total stake (NaN when nothing was staked)."""
    total_stake = float(np.sum(np.asarray(stake, dtype=float)))
    if total_stake == 0:
        return float("nan")
    return float(np.sum(np.asarray(profit, dtype=float))) / total_stake


def win_rate(results: Any) -> float:
    """Wins / (wins + losses) of results 'win' / 'loss' / 'push'; pushes are excluded."""
    values = pd.Series(np.asarray(results, dtype=object))
    wins = int((values == "win").sum())
    decided = wins + int((values == "loss").sum())
    return wins / decided if decided else float("nan")


def max_drawdown(equity: Any) -> float:
    """Largest fall from a running peak, as a fraction of that peak.

    `equity` is a curve that starts at the initial bankroll; the result is in [0, 1] while the
    equity stays non-negative (flat staking can go below zero, and then beyond 1).
    """
    curve = np.asarray(equity, dtype=float).ravel()
    if curve.size == 0:
        return float("nan")
    if not curve[0] > 0:
        raise ValueError(
            f"an equity curve must start at a positive bankroll, got {curve[0]:g}; "
            "prepend the initial bankroll"
        )
    peaks = np.maximum.accumulate(curve)
    return float(np.max((peaks - curve) / peaks))


def sharpe_ratio(daily_returns: Any, days_per_year: int = DAYS_PER_YEAR) -> float:
    """Annualised Sharpe ratio: mean / SD of daily returns x sqrt(betting days a year).

    Convention: SHARPE_CONVENTION. NaN with fewer than two days or no variation.
    """
    returns = np.asarray(daily_returns, dtype=float).ravel()
    if returns.size < 2:
        return float("nan")
    sd = float(np.std(returns, ddof=1))
    if sd == 0:
        return float("nan")
    return float(np.mean(returns)) / sd * float(np.sqrt(days_per_year))


def kelly_fraction(p: Prices, b: ArrayLike) -> Prices:
    """Full-Kelly stake fraction f* = (b p - q) / b for win probability p and net payout b.

    Negative values mean the bet has negative expectation (stake nothing).
    """
    p_arr = np.asarray(p, dtype=float)
    b_arr = np.asarray(b, dtype=float)
    return _like(p, (b_arr * p_arr - (1.0 - p_arr)) / b_arr)


def closing_line_value(
    price_taken: Prices, close_price_side: Prices, close_price_other: Prices
) -> Prices:
    """Price CLV: (vig-free closing probability of the side bet - implied probability at the
    price taken) / the latter. Positive means the bet beat the closing market.

    The closing prices must be for the same line as the bet; NaN closing prices give NaN.
    """
    p_close, _ = vig_free_probabilities(
        np.asarray(close_price_side, dtype=float), np.asarray(close_price_other, dtype=float)
    )
    implied = np.asarray(american_to_implied(np.asarray(price_taken, dtype=float)))
    return _like(price_taken, (np.asarray(p_close) - implied) / implied)


def line_clv(bet_line: Prices, close_line: Prices, side: Any) -> Prices:
    """Line CLV: closing line - bet line for an over, bet line - closing line for an under.

    Positive means the line moved in the bettor's favour after the bet.
    """
    sides = np.asarray(side, dtype=object)
    unknown = set(np.unique(sides).tolist()) - set(SIDES)
    if unknown:
        raise ValueError(f"side must be 'over' or 'under', got {sorted(map(str, unknown))}")
    sign = np.where(sides == "over", 1.0, -1.0)
    moved = np.asarray(close_line, dtype=float) - np.asarray(bet_line, dtype=float)
    return _like(bet_line, sign * moved)
