"""P(over), P(push) from a point prediction, and the tier spread."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbaprops.betting import probability
from nbaprops.betting.probability import SpreadError


@pytest.mark.parametrize(
    ("mu", "line", "sigma", "over", "push", "under"),
    [
        # half-point line: over needs 21+, i.e. z = (20.5 - 20) / 5 = 0.1
        (20.0, 20.5, 5.0, 0.460172, 0.0, 0.539828),
        # whole line 20: over needs 21+, push is 19.5 < Y < 20.5, under is Y <= 19
        (20.0, 20.0, 5.0, 0.460172, 0.079656, 0.460172),
        # mu on the line's far side: z = (10.5 - 14) / 3.5 = -1
        (14.0, 10.5, 3.5, 0.841345, 0.0, 0.158655),
    ],
)
def test_normal_with_continuity_correction(
    mu: float, line: float, sigma: float, over: float, push: float, under: float
) -> None:
    assert probability.prob_over(mu, line, sigma) == pytest.approx(over, abs=1e-6)
    assert probability.prob_push(mu, line, sigma) == pytest.approx(push, abs=1e-6)
    assert probability.prob_under(mu, line, sigma) == pytest.approx(under, abs=1e-6)


def test_half_and_whole_lines_below_share_the_over_event() -> None:
    assert probability.prob_over(18.3, 20.0, 6.0) == pytest.approx(
        probability.prob_over(18.3, 20.5, 6.0)
    )
    assert probability.prob_over(18.3, 20.5, 6.0) > probability.prob_over(18.3, 21.0, 6.0)


@pytest.mark.parametrize(
    ("mu", "line", "phi", "over", "push"),
    [
        # phi = 2, mu = 2: p = 1/2, n = 2; P(0) = 1/4, P(1) = 1/4
        (2.0, 0.5, 2.0, 0.75, 0.0),
        (2.0, 1.5, 2.0, 0.5, 0.0),
        (2.0, 1.0, 2.0, 0.5, 0.25),
        # phi = 1 is Poisson: P(Y >= 1) = 1 - e^-2
        (2.0, 0.5, 1.0, 1 - math.exp(-2), 0.0),
        (2.0, 2.0, 1.0, 1 - 5 * math.exp(-2), 2 * math.exp(-2)),
    ],
)
def test_negative_binomial_hand_values(
    mu: float, line: float, phi: float, over: float, push: float
) -> None:
    assert probability.prob_over_nbinom(mu, line, phi) == pytest.approx(over, abs=1e-9)
    assert probability.prob_push_nbinom(mu, line, phi) == pytest.approx(push, abs=1e-9)


def test_negative_binomial_variance_is_phi_times_mean() -> None:
    mu, phi = 25.7, 1.8
    ys = np.arange(0, 200)
    pmf = np.array([probability.prob_push_nbinom(mu, float(y), phi) for y in ys])
    mean = float((ys * pmf).sum())
    assert mean == pytest.approx(mu, rel=1e-6)
    assert float(((ys - mean) ** 2 * pmf).sum()) == pytest.approx(phi * mu, rel=1e-6)


def test_vectorised_inputs_keep_series_index() -> None:
    mu = pd.Series([10.0, 30.0], index=["bench", "star"])
    out = probability.prob_over(mu, np.array([20.5, 20.5]), np.array([3.0, 7.0]))
    assert isinstance(out, pd.Series)
    assert list(out.index) == ["bench", "star"]
    assert out["bench"] < 0.01 < 0.9 < out["star"]
    mixed = probability.prob_over_nbinom(np.array([20.0, 3.0]), 20.5, np.array([1.0, 2.0]))
    assert mixed.shape == (2,)


def test_bad_spreads_are_rejected() -> None:
    with pytest.raises(SpreadError, match="fit_tier_spread"):
        probability.prob_over(20.0, 20.5, 0.0)
    with pytest.raises(SpreadError, match=">= 1"):
        probability.prob_over_nbinom(20.0, 20.5, 0.8)


@given(
    mu=st.floats(0.5, 60),
    line=st.integers(0, 60).map(float) | st.integers(0, 60).map(lambda x: x + 0.5),
    sigma=st.floats(0.5, 15),
)
def test_normal_outcomes_partition_and_grow_with_mu(mu: float, line: float, sigma: float) -> None:
    total = (
        probability.prob_over(mu, line, sigma)
        + probability.prob_push(mu, line, sigma)
        + probability.prob_under(mu, line, sigma)
    )
    assert total == pytest.approx(1.0)
    assert probability.prob_over(mu + 1.0, line, sigma) >= probability.prob_over(mu, line, sigma)


def test_tier_spread_is_rms_with_floor_and_pooled_fallback() -> None:
    residuals = np.array([3, -3, 3, -3, 0.5, -0.5, 0.5, -0.5, 9.0])
    tiers = np.array(["star"] * 4 + ["bench"] * 4 + ["rare"])
    spread = probability.fit_tier_spread(residuals, tiers, floor=1.0, min_count=4)
    assert spread["star"] == pytest.approx(3.0)
    assert spread["bench"] == pytest.approx(1.0)  # RMS 0.5, floored
    pooled = math.sqrt((4 * 9 + 4 * 0.25 + 81) / 9)
    assert spread["rare"] == pytest.approx(pooled)  # one residual: borrows the pooled RMS
    sigmas = probability.sigma_by_tier(pd.Series(["bench", "star", "unseen"]), spread)
    np.testing.assert_allclose(sigmas, [1.0, 3.0, pooled])


def test_tier_spread_keeps_bias_in_the_spread_and_drops_nan() -> None:
    spread = probability.fit_tier_spread(
        np.array([2.0, 2.0, np.nan]), np.array([1, 1, 1]), min_count=1
    )
    assert spread == {1: pytest.approx(2.0)}
    with pytest.raises(ValueError, match="one entry per prediction"):
        probability.fit_tier_spread(np.array([1.0]), np.array([1, 2]))
