"""Confidence bounds for betting results, so that a gate asks for significance, not luck.

At 500 bets a breakeven bettor shows a 55% win rate about 11% of the time; these bounds say how
low the true figure could plausibly be. ROI is bootstrapped over betting days (bets of a day share
a slate and a bankroll, so days, not bets, are the independent units); the win rate has an exact
binomial bound and test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

DEFAULT_LEVEL = 0.95
DEFAULT_N_BOOT = 2000


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be strictly between 0 and 1, got {level}")


def bootstrap_lower_bound(
    values_by_day: Any,
    stat: Callable[[np.ndarray], float],
    *,
    level: float = DEFAULT_LEVEL,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
) -> float:
    """One-sided percentile-bootstrap lower bound of `stat`, resampling whole betting days.

    `values_by_day` has one row per day (e.g. columns profit, stake); `stat` maps a resampled
    (days x columns) array to a number. NaN with fewer than two days.
    """
    _check_level(level)
    days = np.asarray(values_by_day, dtype=float)
    if days.ndim == 1:
        days = days.reshape(-1, 1)
    if days.shape[0] < 2:
        return float("nan")
    picks = _resampled_days(days.shape[0], n_boot, seed)
    return _lower_quantile(np.array([stat(days[row]) for row in picks], dtype=float), level)


def _resampled_days(n_days: int, n_boot: int, seed: int) -> np.ndarray:
    """Row indices of `n_boot` bootstrap samples of `n_days` days, drawn with replacement."""
    return np.random.default_rng(seed).integers(0, n_days, size=(n_boot, n_days))


def _lower_quantile(draws: np.ndarray, level: float) -> float:
    finite = draws[np.isfinite(draws)]
    return float(np.quantile(finite, 1.0 - level)) if finite.size else float("nan")


def roi_lower_bound(
    profit: Any,
    stake: Any,
    day: Any,
    *,
    level: float = DEFAULT_LEVEL,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
) -> float:
    """Lower confidence bound of ROI (total profit / total stake), bootstrapping betting days."""
    frame = pd.DataFrame(
        {
            "profit": np.asarray(profit, dtype=float),
            "stake": np.asarray(stake, dtype=float),
            "day": np.asarray(day),
        }
    )
    per_day = frame.groupby("day", sort=True)[["profit", "stake"]].sum().to_numpy()
    _check_level(level)
    if per_day.shape[0] < 2:
        return float("nan")
    # Same draws as bootstrap_lower_bound with a ratio-of-sums stat, computed in one matrix step.
    picks = _resampled_days(per_day.shape[0], n_boot, seed)
    stake = per_day[picks, 1].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(stake > 0, per_day[picks, 0].sum(axis=1) / stake, np.nan)
    return _lower_quantile(ratios, level)


def win_rate_lower_bound(wins: int, n: int, level: float = DEFAULT_LEVEL) -> float:
    """Exact one-sided Clopper-Pearson lower bound of the win rate, `wins` of `n` decided bets."""
    _check_level(level)
    if n <= 0:
        return float("nan")
    if wins <= 0:
        return 0.0
    return float(stats.beta.ppf(1.0 - level, wins, n - wins + 1))


def win_rate_p_value(wins: int, n: int, breakeven: float) -> float:
    """One-sided exact binomial p-value of `wins` of `n` against the breakeven win rate.

    Small values mean the bettor beats the prices taken (at -110 the breakeven is 0.5238).
    """
    if n <= 0:
        return float("nan")
    if not 0.0 < breakeven < 1.0:
        raise ValueError(f"breakeven must be a probability in (0, 1), got {breakeven}")
    return float(stats.binomtest(int(wins), int(n), breakeven, alternative="greater").pvalue)
