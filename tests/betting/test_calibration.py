"""Isotonic and Platt calibration fitted on out-of-sample probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from nbaprops.betting.calibration import (
    CalibrationError,
    IdentityCalibrator,
    IsotonicCalibrator,
    PlattCalibrator,
    fit_calibrator,
)
from nbaprops.betting.metrics import expected_calibration_error


def overconfident_sample(seed: int, n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """Raw probabilities twice as far from 0.5 as the truth, and outcomes drawn from the truth."""
    rng = np.random.default_rng(seed)
    p_true = rng.uniform(0.3, 0.7, n)
    p_raw = np.clip(0.5 + 2.0 * (p_true - 0.5), 0.01, 0.99)
    return p_raw, (rng.random(n) < p_true).astype(float)


@pytest.mark.parametrize("kind", ["isotonic", "platt"])
def test_calibration_repairs_an_overconfident_model_out_of_sample(kind: str) -> None:
    p_fit, y_fit = overconfident_sample(seed=1)
    p_new, y_new = overconfident_sample(seed=2)
    calibrator = fit_calibrator(kind, p_fit, y_fit)
    before = expected_calibration_error(p_new, y_new)
    after = expected_calibration_error(calibrator.predict(p_new), y_new)
    assert before > 0.08
    assert after < 0.03


def test_platt_recovers_the_shrinkage_slope() -> None:
    p_fit, y_fit = overconfident_sample(seed=3, n=20000)
    calibrated = PlattCalibrator().fit(p_fit, y_fit).predict(np.array([0.1, 0.5, 0.9]))
    # truth is 0.5 + (p_raw - 0.5) / 2: 0.3, 0.5, 0.7 (a logistic fit lands close)
    np.testing.assert_allclose(calibrated, [0.3, 0.5, 0.7], atol=0.03)


def test_outputs_are_clipped_and_isotonic_is_monotone() -> None:
    p = np.linspace(0.05, 0.95, 19)
    y = (p > 0.5).astype(float)
    iso = IsotonicCalibrator().fit(p, y)
    out = iso.predict(np.array([0.0, 0.2, 0.8, 1.0]))
    np.testing.assert_allclose(out, [0.001, 0.001, 0.999, 0.999])
    grid = iso.predict(np.linspace(0, 1, 101))
    assert np.all(np.diff(grid) >= 0)
    platt = PlattCalibrator().fit(p, y).predict(np.array([0.0, 1.0]))
    assert platt.min() >= 0.001 and platt.max() <= 0.999


def test_none_passes_through_clipped() -> None:
    calibrator = fit_calibrator("none", np.array([0.2, 0.7]), np.array([0, 1]))
    assert isinstance(calibrator, IdentityCalibrator)
    np.testing.assert_allclose(calibrator.predict(np.array([0.0, 0.42, 1.0])), [0.001, 0.42, 0.999])


def test_unusable_inputs_say_what_to_do() -> None:
    with pytest.raises(CalibrationError, match="choose one of isotonic, platt, none"):
        fit_calibrator("beta", np.array([0.4, 0.6]), np.array([0, 1]))
    with pytest.raises(CalibrationError, match="single class"):
        fit_calibrator("platt", np.array([0.4, 0.6]), np.array([1, 1]))
    with pytest.raises(CalibrationError, match="within"):
        fit_calibrator("isotonic", np.array([0.4, 1.6]), np.array([0, 1]))
    with pytest.raises(CalibrationError, match="one entry per prediction"):
        fit_calibrator("isotonic", np.array([0.4, 0.6]), np.array([0, 1, 1]))
