"""Bootstrap and exact binomial bounds on betting results."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from nbaprops.betting.uncertainty import (
    bootstrap_lower_bound,
    roi_lower_bound,
    win_rate_lower_bound,
    win_rate_p_value,
)


@pytest.mark.parametrize(("wins", "n"), [(55, 100), (280, 500), (3, 10), (1, 1)])
def test_clopper_pearson_bound_is_exact(wins: int, n: int) -> None:
    bound = win_rate_lower_bound(wins, n)
    # the defining property: at p = bound, P(X >= wins) is exactly 5%
    assert stats.binom.sf(wins - 1, n, bound) == pytest.approx(0.05, abs=1e-9)
    assert bound < wins / n


@pytest.mark.parametrize(
    ("wins", "n", "expected"),
    [(10, 10, 0.05**0.1), (0, 10, 0.0), (1, 1, 0.05)],
)
def test_clopper_pearson_hand_values(wins: int, n: int, expected: float) -> None:
    assert win_rate_lower_bound(wins, n) == pytest.approx(expected)


def test_win_rate_bound_undefined_without_bets() -> None:
    assert math.isnan(win_rate_lower_bound(0, 0))
    assert math.isnan(win_rate_p_value(0, 0, 0.5238))


@pytest.mark.parametrize(
    ("wins", "n", "breakeven", "expected"),
    [
        (10, 10, 0.5, 0.5**10),
        (5, 10, 0.5, 638 / 1024),
        (0, 10, 0.5, 1.0),
        (2, 2, 110 / 210, (110 / 210) ** 2),
    ],
)
def test_win_rate_p_value_is_one_sided_exact(
    wins: int, n: int, breakeven: float, expected: float
) -> None:
    assert win_rate_p_value(wins, n, breakeven) == pytest.approx(expected)


def test_55_percent_over_500_bets_is_not_significant_at_minus_110() -> None:
    assert win_rate_p_value(275, 500, 110 / 210) > 0.05
    assert win_rate_lower_bound(275, 500) < 110 / 210


def test_roi_bound_resamples_days_not_bets() -> None:
    # day 1: +10 on 10 staked over three bets; day 2: -10 on 10 staked over two bets.
    # Resampled days give ROI 1 (both day 1), 0 (one each) or -1 (both day 2, chance 1/4).
    profit = [5.0, 2.5, 2.5, -5.0, -5.0]
    stake = [5.0, 2.5, 2.5, 5.0, 5.0]
    day = ["d1", "d1", "d1", "d2", "d2"]
    assert roi_lower_bound(profit, stake, day, seed=0) == pytest.approx(-1.0)
    assert math.isnan(roi_lower_bound([1.0], [1.0], ["d1"], seed=0))


def test_bootstrap_is_seeded_and_ordered_by_level() -> None:
    rng = np.random.default_rng(0)
    daily = rng.normal(0.01, 0.05, 120)

    def mean(days: np.ndarray) -> float:
        return float(days.mean())

    first = bootstrap_lower_bound(daily, mean, seed=11)
    assert first == bootstrap_lower_bound(daily, mean, seed=11)
    assert first != bootstrap_lower_bound(daily, mean, seed=12)
    loose = bootstrap_lower_bound(daily, mean, level=0.8, seed=11)
    strict = bootstrap_lower_bound(daily, mean, level=0.99, seed=11)
    assert strict < first < loose < daily.mean()
    # close to the normal-theory bound mean - 1.645 SE
    normal = daily.mean() - 1.645 * daily.std(ddof=1) / np.sqrt(daily.size)
    assert first == pytest.approx(normal, abs=0.002)


def test_constant_days_give_a_tight_bound() -> None:
    assert bootstrap_lower_bound(np.full(30, 0.04), lambda d: float(d.mean()), seed=0) == (
        pytest.approx(0.04)
    )
    with pytest.raises(ValueError, match="between 0 and 1"):
        bootstrap_lower_bound(np.ones(5), lambda d: float(d.mean()), level=95, seed=0)


def test_roi_bound_equals_the_generic_bootstrap_of_a_ratio_of_sums() -> None:
    rng = np.random.default_rng(5)
    day = np.repeat(np.arange(40), 12)
    stake = rng.uniform(5, 20, day.size)
    profit = np.where(rng.random(day.size) < 0.53, stake * 10 / 11, -stake)
    per_day = np.column_stack([np.bincount(day, weights=profit), np.bincount(day, weights=stake)])

    def ratio(days: np.ndarray) -> float:
        return float(days[:, 0].sum() / days[:, 1].sum())

    assert roi_lower_bound(profit, stake, day, seed=9) == pytest.approx(
        bootstrap_lower_bound(per_day, ratio, seed=9)
    )
