"""Probability and money metrics, pinned to hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbaprops.betting import metrics


@pytest.mark.parametrize(
    ("p", "y", "expected"),
    [
        ([0.5, 0.5, 0.5, 0.5], [1, 0, 0, 1], 0.25),
        ([1.0, 0.0], [1, 0], 0.0),
        ([1.0, 0.0], [0, 1], 1.0),
        ([0.8, 0.3], [1, 0], 0.065),
    ],
)
def test_brier_score(p: list[float], y: list[int], expected: float) -> None:
    assert metrics.brier_score(p, y) == pytest.approx(expected)


def test_ece_and_curve_on_a_hand_sample() -> None:
    p, y = [0.15, 0.15, 0.85, 0.85], [0, 1, 1, 1]
    # bin 1: |0.15 - 0.5| x 2/4; bin 8: |0.85 - 1| x 2/4
    assert metrics.expected_calibration_error(p, y) == pytest.approx(0.25)
    points = metrics.calibration_curve_points(p, y)
    assert list(points.columns) == ["bin_centre", "mean_p", "mean_y", "count"]
    np.testing.assert_allclose(points["bin_centre"], [0.15, 0.85])
    np.testing.assert_allclose(points["mean_y"], [0.5, 1.0])
    assert points["count"].tolist() == [2, 2]


def test_probability_one_falls_in_the_top_bin() -> None:
    points = metrics.calibration_curve_points([1.0, 0.95], [1, 1])
    assert points["bin_centre"].tolist() == [0.95]
    assert metrics.expected_calibration_error([1.0, 0.95], [1, 1]) == pytest.approx(0.025)


def test_ece_is_small_when_calibrated_and_large_when_not() -> None:
    rng = np.random.default_rng(7)
    p = rng.uniform(0.2, 0.8, 20000)
    calibrated = (rng.random(p.size) < p).astype(float)
    coin_flips = (rng.random(p.size) < 0.5).astype(float)
    assert metrics.expected_calibration_error(p, calibrated) < 0.015
    assert metrics.expected_calibration_error(p, coin_flips) > 0.12


def test_sharpness_catches_the_always_half_model() -> None:
    assert metrics.sharpness([0.5] * 10) == 0.0
    assert metrics.sharpness([0.4, 0.6]) == pytest.approx(0.1)


def test_roi_and_win_rate() -> None:
    profit, stake = [100 / 11, -10.0, 0.0], [10.0, 10.0, 10.0]
    assert metrics.roi(profit, stake) == pytest.approx((100 / 11 - 10) / 30)
    assert math.isnan(metrics.roi([], []))
    assert metrics.win_rate(["win", "loss", "push", "win"]) == pytest.approx(2 / 3)
    assert math.isnan(metrics.win_rate(["push"]))


def test_flat_minus_110_roi_identity() -> None:
    wins, losses = 56, 44  # ROI = WR x 1.9091 - 1
    profit = [10 / 1.1] * wins + [-10.0] * losses
    assert metrics.roi(profit, [10.0] * 100) == pytest.approx(0.56 * (1 + 1 / 1.1) - 1)


@pytest.mark.parametrize(
    ("curve", "expected"),
    [
        ([100, 120, 90, 130, 65], 0.5),
        ([100, 120, 90, 100], 0.25),
        ([100, 110, 121], 0.0),
        ([1000, 1010, 1000], 10 / 1010),
        ([100], 0.0),
    ],
)
def test_max_drawdown(curve: list[float], expected: float) -> None:
    assert metrics.max_drawdown(curve) == pytest.approx(expected)


def test_drawdown_needs_a_positive_start() -> None:
    with pytest.raises(ValueError, match="prepend the initial bankroll"):
        metrics.max_drawdown([0.0, 10.0])


@given(
    start=st.floats(1, 1e6),
    steps=st.lists(st.floats(0, 1e6), min_size=0, max_size=50),
)
def test_drawdown_of_a_non_negative_curve_is_a_fraction(start: float, steps: list[float]) -> None:
    assert 0.0 <= metrics.max_drawdown([start, *steps]) <= 1.0


def test_sharpe_ratio_convention() -> None:
    returns = [0.01, -0.01, 0.02, 0.0]
    # mean 0.005, sample SD sqrt(0.0005 / 3) = 0.0129099; x sqrt(165)
    assert metrics.sharpe_ratio(returns) == pytest.approx(4.97494, abs=1e-4)
    assert metrics.sharpe_ratio(returns, days_per_year=252) == pytest.approx(
        0.005 / math.sqrt(0.0005 / 3) * math.sqrt(252)
    )
    assert math.isnan(metrics.sharpe_ratio([0.01]))
    assert math.isnan(metrics.sharpe_ratio([0.01, 0.01]))


@pytest.mark.parametrize(
    ("p", "b", "expected"),
    [
        (0.55, 10 / 11, 0.055),  # -110: (0.5 - 0.45) / 0.9091
        (110 / 210, 10 / 11, 0.0),  # breakeven at -110
        (0.6, 1.0, 0.2),
        (0.4, 1.5, 0.0),  # breakeven at +150
        (0.5, 10 / 11, -0.05),  # negative expectation: stake nothing
    ],
)
def test_kelly_fraction(p: float, b: float, expected: float) -> None:
    assert metrics.kelly_fraction(p, b) == pytest.approx(expected, abs=1e-12)


def test_kelly_is_vectorised() -> None:
    out = metrics.kelly_fraction(np.array([0.6, 0.4]), np.array([1.0, 1.5]))
    np.testing.assert_allclose(out, [0.2, 0.0], atol=1e-12)


@pytest.mark.parametrize(
    ("taken", "close_side", "close_other", "expected"),
    [
        # took over -110 (0.523810); close -130 / +110: vig-free over 0.542744
        (-110, -130, +110, 0.036147),
        # the under at -110 against that close: vig-free under 0.457256
        (-110, +110, -130, -0.127056),
        # no move at -110: the vig alone
        (-110, -110, -110, -0.045455),
        # +100 taken, close -125 / +105: vig-free 0.532468 vs 0.5
        (+100, -125, +105, 0.064935),
    ],
)
def test_closing_line_value_sign_and_size(
    taken: int, close_side: int, close_other: int, expected: float
) -> None:
    assert metrics.closing_line_value(taken, close_side, close_other) == pytest.approx(
        expected, abs=1e-5
    )


def test_closing_line_value_passes_missing_closes_as_nan() -> None:
    out = metrics.closing_line_value(
        np.array([-110.0, -110.0]), np.array([-130.0, np.nan]), np.array([110.0, np.nan])
    )
    assert out[0] > 0 and np.isnan(out[1])


@pytest.mark.parametrize(
    ("bet", "close", "side", "expected"),
    [
        (22.5, 23.5, "over", 1.0),  # over bought below the close: good
        (22.5, 23.5, "under", -1.0),
        (22.5, 21.5, "under", 1.0),
        (22.5, 21.5, "over", -1.0),
        (8.0, 8.0, "over", 0.0),
    ],
)
def test_line_clv_sign_follows_the_side(
    bet: float, close: float, side: str, expected: float
) -> None:
    assert metrics.line_clv(bet, close, side) == expected


def test_line_clv_rejects_unknown_sides() -> None:
    with pytest.raises(ValueError, match="'over' or 'under'"):
        metrics.line_clv(np.array([1.5]), np.array([2.5]), np.array(["Over"]))
