"""Count-aware P(over): negative-binomial dispersion by tier, per-tier calibration.

Skewed counts: for a bench player with mean 5, a symmetric normal with the same spread puts too
much mass above a line at the median; the negative binomial fitted to the results does not.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from nbaprops.training.fit import FittedPropsModel, fit_tier_dispersion


def _nb(rng: np.random.Generator, mu: float, phi: float, n: int) -> np.ndarray:
    """Negative-binomial counts with mean mu and variance phi x mu."""
    size = mu / (phi - 1.0)
    return rng.negative_binomial(size, size / (size + mu), n).astype(float)


def _model(phi: dict[str, float], sigma: dict[str, float]) -> FittedPropsModel:
    identity = IsotonicRegression(out_of_bounds="clip").fit([0.0, 1.0], [0.0, 1.0])
    return FittedPropsModel(
        model=None,
        model_type="test",
        feature_names=[],
        sigma_by_tier=sigma,
        calibrator=identity,
        calibration_kind="isotonic",
        params={},
        fit_seconds=0.0,
        n_fit_rows=0,
        n_calibration_rows=0,
        phi_by_tier=phi,
    )


def test_dispersion_by_tier_is_recovered_from_results() -> None:
    rng = np.random.default_rng(0)
    y = np.concatenate([_nb(rng, 5.0, 1.8, 4000), _nb(rng, 25.0, 2.5, 4000)])
    mu = np.repeat([5.0, 25.0], 4000)
    tiers = np.repeat(["bench", "star"], 4000)
    phi = fit_tier_dispersion(y, mu, tiers)
    assert phi["bench"] == pytest.approx(1.8, rel=0.1)
    assert phi["star"] == pytest.approx(2.5, rel=0.1)
    assert fit_tier_dispersion(np.full(10, 5.0), np.full(10, 5.0), np.array(["x"] * 10)) == {
        "x": 1.0  # under-dispersed or too few: never below Poisson
    }


def test_negative_binomial_is_unbiased_at_the_median_line_where_the_normal_is_not() -> None:
    rng = np.random.default_rng(1)
    y = _nb(rng, 5.0, 1.8, 200_000)
    line = float(np.median(y)) + 0.5  # the book's median line, as a half point
    truth = float(np.mean(y > line))
    tiers = np.array(["bench"])
    nb = _model({"bench": 1.8}, {"bench": float(np.std(y))})
    normal = _model({}, {"bench": float(np.std(y))})
    p_nb = float(nb.raw_prob_over(np.array([5.0]), np.array([line]), tiers)[0])
    p_normal = float(normal.raw_prob_over(np.array([5.0]), np.array([line]), tiers)[0])
    assert abs(p_nb - truth) < 0.005
    assert abs(p_normal - truth) > 3 * abs(p_nb - truth)


def test_each_tier_uses_its_own_calibrator() -> None:
    model = _model({"bench": 1.5, "star": 2.0}, {"bench": 3.0, "star": 8.0})
    halve = IsotonicRegression(out_of_bounds="clip").fit([0.0, 1.0], [0.0, 0.5])
    model.tier_calibrators = {"bench": halve}
    mu, line = np.array([5.0, 5.0]), np.array([4.5, 4.5])
    raw = model.raw_prob_over(mu, line, np.array(["bench", "star"]))
    calibrated = model.prob_over(mu, line, np.array(["bench", "star"]))
    assert calibrated[0] == pytest.approx(raw[0] / 2)
    assert calibrated[1] == pytest.approx(raw[1])
