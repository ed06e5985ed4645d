"""Probability calibration: isotonic or Platt maps from raw P(over) to observed hit rates.

Fit a calibrator only on out-of-sample predictions (walk-forward folds the model never trained
on). Fitted on in-sample predictions it learns the model's overconfidence on its own training
data and quietly hides it.
"""

from __future__ import annotations

from typing import Literal, Protocol

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

CalibratorKind = Literal["isotonic", "platt", "none"]
CALIBRATOR_KINDS: tuple[str, ...] = ("isotonic", "platt", "none")
P_MIN, P_MAX = 0.001, 0.999


class CalibrationError(ValueError):
    """Calibration asked of data that cannot support it."""


class Calibrator(Protocol):
    """Anything with fit(p, y) and predict(p) on probabilities."""

    def fit(self, p: np.ndarray, y: np.ndarray) -> Calibrator:
        """Learn the map from out-of-sample probabilities p to outcomes y (0/1)."""
        ...

    def predict(self, p: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, clipped to [0.001, 0.999]."""
        ...


def _clean(p: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validated float arrays of probabilities and 0/1 outcomes."""
    p_arr = np.asarray(p, dtype=float).ravel()
    y_arr = np.zeros_like(p_arr) if y is None else np.asarray(y, dtype=float).ravel()
    if p_arr.shape != y_arr.shape:
        raise CalibrationError(
            f"p ({p_arr.size}) and y ({y_arr.size}) must have one entry per prediction"
        )
    if not np.all(np.isfinite(p_arr)) or np.any((p_arr < 0) | (p_arr > 1)):
        raise CalibrationError("probabilities must be finite and within [0, 1]; drop NaN first")
    return p_arr, y_arr


def _check_outcomes(y: np.ndarray) -> None:
    if y.size == 0 or not np.all(np.isin(y, (0.0, 1.0))):
        raise CalibrationError("outcomes y must be a non-empty array of 0/1 (pushes removed)")
    if np.unique(y).size < 2:
        raise CalibrationError(
            "outcomes y hold a single class; calibrate on a larger out-of-sample window"
        )


class IsotonicCalibrator:
    """A monotone step map fitted by isotonic regression; flexible, needs a few hundred bets."""

    def __init__(self) -> None:
        self._model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")

    def fit(self, p: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        """Fit on out-of-sample probabilities p and their 0/1 outcomes y."""
        p_arr, y_arr = _clean(p, y)
        _check_outcomes(y_arr)
        self._model.fit(p_arr, y_arr)
        return self

    def predict(self, p: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, clipped to [0.001, 0.999]."""
        p_arr, _ = _clean(p)
        if p_arr.size == 0:  # a window without lines: nothing to calibrate, no bets
            return np.empty(0)
        return np.clip(np.asarray(self._model.predict(p_arr), dtype=float), P_MIN, P_MAX)


class PlattCalibrator:
    """A logistic map on the logit of p (two parameters); stable with few bets."""

    def __init__(self) -> None:
        self._model = LogisticRegression(C=1e4)

    @staticmethod
    def _logit(p: np.ndarray) -> np.ndarray:
        q = np.clip(p, P_MIN, P_MAX)
        return np.log(q / (1.0 - q)).reshape(-1, 1)

    def fit(self, p: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        """Fit on out-of-sample probabilities p and their 0/1 outcomes y."""
        p_arr, y_arr = _clean(p, y)
        _check_outcomes(y_arr)
        self._model.fit(self._logit(p_arr), y_arr.astype(int))
        return self

    def predict(self, p: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, clipped to [0.001, 0.999]."""
        p_arr, _ = _clean(p)
        if p_arr.size == 0:  # a window without lines: nothing to calibrate, no bets
            return np.empty(0)
        return np.clip(self._model.predict_proba(self._logit(p_arr))[:, 1], P_MIN, P_MAX)


class IdentityCalibrator:
    """No calibration: probabilities pass through, only clipped like the others."""

    def fit(self, p: np.ndarray, y: np.ndarray) -> IdentityCalibrator:
        """Nothing to learn; inputs are validated so a bad call fails the same way."""
        _clean(p, y)
        return self

    def predict(self, p: np.ndarray) -> np.ndarray:
        """The input probabilities, clipped to [0.001, 0.999]."""
        p_arr, _ = _clean(p)
        return np.clip(p_arr, P_MIN, P_MAX)


def fit_calibrator(kind: CalibratorKind | str, p: np.ndarray, y: np.ndarray) -> Calibrator:
    """Fit the calibrator named `kind` on out-of-sample probabilities p and outcomes y."""
    calibrator: Calibrator
    if kind == "isotonic":
        calibrator = IsotonicCalibrator()
    elif kind == "platt":
        calibrator = PlattCalibrator()
    elif kind == "none":
        calibrator = IdentityCalibrator()
    else:
        raise CalibrationError(
            f"unknown calibrator {kind!r}; choose one of {', '.join(CALIBRATOR_KINDS)}"
        )
    return calibrator.fit(p, y)
