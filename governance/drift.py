"""Drift statistics and the daily drift verdict: feature and prediction shift (PSI, KS) and
performance decay (live MAE against validation MAE, rolling calibration error).

Everything here is a pure function of arrays and the policy, so the monitor job only has to
gather the inputs; thresholds come from the policy's [drift] table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from governance.policy import DriftPolicy, Policy
from nbaprops.betting.metrics import expected_calibration_error

Band = Literal["stable", "moderate", "major"]
PSI_EPSILON = 1e-4  # floor on a bin's share, so an empty bin costs a finite amount


class DriftInputError(ValueError):
    """Inputs the drift statistics cannot judge; the message says what to pass instead."""


def _values(data: Any, what: str) -> np.ndarray:
    """A flat float array of `data`; NaN marks a missing value."""
    try:
        return np.asarray(data, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise DriftInputError(f"{what} must be numbers; convert or drop the column") from exc


def psi(reference: Any, current: Any, bins: int = 10) -> float:
    """Population stability index of `current` against `reference`: sum (a - e) ln(a / e).

    Bin edges are the reference's quantiles (ties merged, so a discrete feature gets fewer
    bins); missing values form a bin of their own, because a change in how often a feature is
    missing is drift too. Shares are floored at PSI_EPSILON so empty bins stay finite.
    """
    if bins < 2:
        raise DriftInputError(f"bins = {bins}: use at least 2 bins (10 is usual)")
    ref = _values(reference, "reference")
    cur = _values(current, "current")
    if ref.size == 0 or cur.size == 0:
        empty = "reference" if ref.size == 0 else "current"
        raise DriftInputError(f"the {empty} sample is empty; pass at least one value per side")
    ref_finite = ref[np.isfinite(ref)]
    edges = np.empty(0)
    if ref_finite.size:
        edges = np.unique(np.quantile(ref_finite, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    expected = _shares(ref, edges)
    actual = _shares(cur, edges)
    expected = np.clip(expected, PSI_EPSILON, None)
    actual = np.clip(actual, PSI_EPSILON, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of values in each right-closed bin between `edges`, plus a last bin for NaN."""
    missing = ~np.isfinite(values)
    index = np.searchsorted(edges, values[~missing], side="left")
    counts = np.bincount(index, minlength=edges.size + 1).astype(float)
    counts = np.append(counts, float(missing.sum()))
    return counts / values.size


def psi_band(value: float, policy: Policy) -> Band:
    """'stable' below psi_moderate, 'moderate' below psi_major, 'major' from psi_major up."""
    if math.isnan(value):
        raise DriftInputError("PSI is NaN; compute it from non-empty samples first")
    if value >= policy.drift.psi_major:
        return "major"
    if value >= policy.drift.psi_moderate:
        return "moderate"
    return "stable"


def ks_statistic(reference: Any, current: Any) -> float:
    """Two-sample Kolmogorov-Smirnov D over the non-missing values; NaN if a side has none.

    The D statistic is thresholded rather than the p-value: at thousands of rows every
    harmless shift is "significant".
    """
    ref = _values(reference, "reference")
    cur = _values(current, "current")
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if ref.size == 0 or cur.size == 0:
        return float("nan")
    return float(stats.ks_2samp(ref, cur).statistic)


def live_mae_ratio(abs_errors_recent: Any, val_mae: float) -> float:
    """Recent live MAE over validation MAE (1.0 = as validated); NaN with no settled errors."""
    if not math.isfinite(val_mae) or val_mae <= 0:
        raise DriftInputError(
            f"val_mae = {val_mae}: pass the Production model's positive validation MAE"
        )
    errors = np.abs(_values(abs_errors_recent, "abs_errors_recent"))
    errors = errors[np.isfinite(errors)]
    if errors.size == 0:
        return float("nan")
    return float(errors.mean() / val_mae)


def rolling_calibration_error(probs: Any, outcomes: Any, window: int, bins: int = 10) -> float:
    """Expected calibration error of the last `window` bets (model probability vs won 0/1)."""
    if window < 1:
        raise DriftInputError(f"window = {window}: use a window of at least 1 bet")
    p = _values(probs, "recent_probs")
    y = _values(outcomes, "recent_outcomes")
    if p.size != y.size:
        raise DriftInputError(
            f"{p.size} probabilities but {y.size} outcomes: pass one outcome per bet"
        )
    if p.size == 0:
        return float("nan")
    return expected_calibration_error(p[-window:], y[-window:], bins)


@dataclass(frozen=True)
class FeatureDrift:
    """How far one feature moved: PSI with its band, KS D, and whether it breaches."""

    name: str
    psi: float
    band: Band
    ks: float
    ks_flagged: bool
    breached: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (NaN becomes None)."""
        return {
            "name": self.name,
            "psi": _json_float(self.psi),
            "band": self.band,
            "ks": _json_float(self.ks),
            "ks_flagged": self.ks_flagged,
            "breached": self.breached,
        }


@dataclass(frozen=True)
class DriftReport:
    """The daily drift verdict: every statistic measured, whether the policy says act, and why."""

    features: tuple[FeatureDrift, ...]
    prediction_psi: float
    prediction_band: Band
    prediction_ks: float
    live_mae_ratio: float
    settled_count: int
    rolling_calibration_error: float
    calibration_bets: int
    breached: bool
    reasons: list[str]
    warnings: list[str]

    @property
    def psi_max(self) -> float:
        """The largest PSI of any feature or of the predictions."""
        return max([self.prediction_psi, *(f.psi for f in self.features)])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form for MLflow and the audit trail (NaN becomes None)."""
        return {
            "breached": self.breached,
            "reasons": list(self.reasons),
            "warnings": list(self.warnings),
            "psi_max": _json_float(self.psi_max),
            "prediction_psi": _json_float(self.prediction_psi),
            "prediction_band": self.prediction_band,
            "prediction_ks": _json_float(self.prediction_ks),
            "live_mae_ratio": _json_float(self.live_mae_ratio),
            "settled_count": self.settled_count,
            "rolling_calibration_error": _json_float(self.rolling_calibration_error),
            "calibration_bets": self.calibration_bets,
            "features": [f.to_dict() for f in self.features],
        }


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def assess_drift(
    reference_features: pd.DataFrame,
    current_features: pd.DataFrame,
    reference_predictions: Any,
    current_predictions: Any,
    settled_abs_errors: Any,
    val_mae: float,
    recent_probs: Any,
    recent_outcomes: Any,
    policy: Policy,
) -> DriftReport:
    """Compare recent data and results with the reference (training) window under the policy.

    Breach (any of): a key feature or the predictions at a major PSI; a key feature missing
    from the current frame; with ks_breaches, a key feature's KS D above ks_statistic; the MAE
    of the last mae_window settled predictions above live_mae_ratio x val_mae, counted only
    with min_settled_predictions or more; the ECE of the last calibration_window bets above
    calibration_error_limit, counted only with min_calibration_bets or more. Moderate PSI, KS
    flags and alarms on too few samples are warnings. `val_mae` must be measured on the same
    population as the settled predictions (e.g. player-games with a line), or the ratio is off
    from day one.
    """
    rules = policy.drift
    reasons: list[str] = []
    warnings: list[str] = []
    features = _feature_drift(reference_features, current_features, policy, reasons, warnings)

    pred_psi = psi(reference_predictions, current_predictions, rules.psi_bins)
    pred_band = psi_band(pred_psi, policy)
    pred_ks = ks_statistic(reference_predictions, current_predictions)
    if pred_band == "major":
        reasons.append(f"predictions: PSI {pred_psi:.3f} is major (>= {rules.psi_major:g})")
    elif pred_band == "moderate":
        warnings.append(f"predictions: PSI {pred_psi:.3f} is moderate")

    recent_errors = _values(settled_abs_errors, "settled_abs_errors")[-rules.mae_window :]
    recent_errors = recent_errors[np.isfinite(recent_errors)]
    ratio = live_mae_ratio(recent_errors, val_mae)
    _performance_alarm(
        f"live MAE ratio {ratio:.3f} over the last {recent_errors.size} settled predictions",
        ratio > rules.live_mae_ratio,
        f"> {rules.live_mae_ratio:g}",
        recent_errors.size,
        rules.min_settled_predictions,
        reasons,
        warnings,
    )

    probs = _values(recent_probs, "recent_probs")[-rules.calibration_window :]
    outcomes = _values(recent_outcomes, "recent_outcomes")[-rules.calibration_window :]
    ece = rolling_calibration_error(probs, outcomes, rules.calibration_window)
    _performance_alarm(
        f"rolling calibration error {ece:.3f} over the last {probs.size} bets",
        ece > rules.calibration_error_limit,
        f"> {rules.calibration_error_limit:g}",
        probs.size,
        rules.min_calibration_bets,
        reasons,
        warnings,
    )

    return DriftReport(
        features=features,
        prediction_psi=pred_psi,
        prediction_band=pred_band,
        prediction_ks=pred_ks,
        live_mae_ratio=ratio,
        settled_count=int(recent_errors.size),
        rolling_calibration_error=ece,
        calibration_bets=int(probs.size),
        breached=bool(reasons),
        reasons=reasons,
        warnings=warnings,
    )


def _performance_alarm(
    what: str,
    above: bool,
    limit: str,
    count: int,
    needed: int,
    reasons: list[str],
    warnings: list[str],
) -> None:
    """A performance limit breaches only with enough samples; otherwise it is a warning."""
    if not above:
        return
    if count >= needed:
        reasons.append(f"{what} is {limit}")
    else:
        warnings.append(f"{what} is {limit} but not counted: fewer than {needed} samples")


def _feature_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    policy: Policy,
    reasons: list[str],
    warnings: list[str],
) -> tuple[FeatureDrift, ...]:
    """PSI and KS of every compared feature, appending breaches and warnings."""
    rules: DriftPolicy = policy.drift
    names = _compared_features(reference, current, rules.key_features)
    missing = [n for n in rules.key_features if n not in current.columns]
    reasons.extend(f"key feature {n!r} is missing from the current features" for n in missing)
    result = []
    for name in names:
        value = psi(reference[name], current[name], rules.psi_bins)
        band = psi_band(value, policy)
        ks = ks_statistic(reference[name], current[name])
        ks_flagged = not math.isnan(ks) and ks > rules.ks_statistic
        breached = band == "major" or (rules.ks_breaches and ks_flagged)
        if band == "major":
            reasons.append(f"feature {name}: PSI {value:.3f} is major (>= {rules.psi_major:g})")
        elif band == "moderate":
            warnings.append(f"feature {name}: PSI {value:.3f} is moderate")
        if ks_flagged:
            line = f"feature {name}: KS D {ks:.3f} > {rules.ks_statistic:g}"
            (reasons if rules.ks_breaches else warnings).append(line)
        result.append(FeatureDrift(name, value, band, ks, ks_flagged, breached))
    return tuple(result)


def _compared_features(
    reference: pd.DataFrame, current: pd.DataFrame, key_features: Sequence[str]
) -> list[str]:
    """The key features present in both frames, or every numeric column both frames share."""
    if key_features:
        if missing := [n for n in key_features if n not in reference.columns]:
            raise DriftInputError(
                f"key feature(s) {', '.join(missing)} are not in the reference features; "
                "fix [drift] key_features in the policy or pass the full feature frame"
            )
        return [n for n in key_features if n in current.columns]
    return [
        name
        for name in reference.columns
        if name in current.columns
        and (
            pd.api.types.is_numeric_dtype(reference[name])
            or pd.api.types.is_bool_dtype(reference[name])
        )
    ]
