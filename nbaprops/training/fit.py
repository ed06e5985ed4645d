"""Fit a points model and its probability-of-the-over layer, out-of-sample throughout.

The last part of the training window (the calibration slice) is held out: the regressor is fit
on the rows before it; the count distribution's dispersion by tier (negative binomial, variance
phi x mean: points are skewed counts, a symmetric normal overstates the over of low means) and
the calibrator (pooled, or per tier for a tier with MIN_TIER_CALIBRATION props) are fit on the
slice's out-of-sample predictions. Used by `nbaprops train` and by every walk-forward fold
alike. An ensemble's members can be fitted side by side as Dask tasks; they get the same params
and rows either way.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nbaprops.betting.calibration import fit_calibrator
from nbaprops.betting.probability import (
    fit_tier_spread,
    prob_over,
    prob_over_nbinom,
    prob_push,
    prob_push_nbinom,
)
from nbaprops.distributed import check_executor, dask_client
from nbaprops.models.regressors import (
    ENSEMBLE_MEMBERS,
    AveragingEnsemble,
    Regressor,
    fit_regressor,
    resolve_params,
)
from nbaprops.splits import time_split
from nbaprops.training.props import over_outcome, props_for_rows

CALIBRATION_FRACTION = 0.15
#: Settled calibration props a tier needs for its own calibrator (else it uses the pooled one).
#: The tier already enters through its dispersion; measured on the default synthetic feed's last
#: season, isotonic maps per tier on 1,000-5,000 props overfit (star-tier ECE 0.031, bench
#: 0.019) where the pooled map on the negative-binomial probabilities gives 0.028 and 0.015.
MIN_TIER_CALIBRATION = 20_000
#: Called around each ensemble member's fit, e.g. to open a nested MLflow run for it, with the
#: member's name, a function returning the fitted member, and whether that fit ran on a Dask
#: worker (out of sight of this process's autologging, so the hook logs what it would have).
MemberHook = Callable[[str, Callable[[], Regressor], bool], Regressor]
EvalSet = Sequence[tuple[pd.DataFrame, np.ndarray]]


def _plain_member_fit(name: str, fit: Callable[[], Regressor], on_worker: bool) -> Regressor:
    return fit()


@dataclass(frozen=True)
class _MemberRows:
    """What every member is fitted on, scattered to the Dask workers once."""

    X: pd.DataFrame
    y: np.ndarray
    eval_set: EvalSet


def _fit_member(name: str, params: Mapping[str, Any], rows: _MemberRows) -> Regressor:
    return fit_regressor(name, params, rows.X, rows.y, rows.eval_set)


def _already_fitted(model: Regressor) -> Regressor:
    return model


def _fit_members_on_dask(
    member_params: Mapping[str, dict[str, Any]], rows: _MemberRows, address: str | None
) -> dict[str, Regressor]:
    """Every member fitted as its own Dask task, on the rows shipped to the workers once."""
    with dask_client(address, n_workers=len(member_params)) as client:
        shared = client.scatter(rows, broadcast=True, hash=False)
        futures = {
            name: client.submit(_fit_member, name, params, shared, pure=False)
            for name, params in member_params.items()
        }
        fitted: list[Regressor] = client.gather(list(futures.values()))
    return dict(zip(futures, fitted, strict=True))


@dataclass
class FittedPropsModel:
    """A fitted regressor plus the spread and calibrator that turn points into P(over)."""

    model: Any
    model_type: str
    feature_names: list[str]
    sigma_by_tier: dict[str, float]
    calibrator: Any
    calibration_kind: str
    params: dict[str, Any]
    #: seconds of the whole props-model fit: the booster and its probability layer (spread,
    #: dispersion, calibrators), what the benchmarks' bare arms time as "the fit"
    fit_seconds: float
    n_fit_rows: int
    n_calibration_rows: int
    eval_curves: dict[str, list[float]] = field(default_factory=dict)
    #: Negative-binomial dispersion (variance / mean) by tier; empty: the normal of sigma_by_tier.
    phi_by_tier: dict[str, float] = field(default_factory=dict)
    #: Calibrators of the tiers with enough calibration props; others use `calibrator`.
    tier_calibrators: dict[str, Any] = field(default_factory=dict)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Point predictions of the target."""
        return np.asarray(self.model.predict(X[self.feature_names]), dtype=float)

    def raw_prob_over(self, mu: np.ndarray, line: np.ndarray, tiers: np.ndarray) -> np.ndarray:
        """Uncalibrated P(over) from the count distribution around the prediction."""
        mu, line = np.asarray(mu, float), np.asarray(line, float)
        if self.phi_by_tier:
            return np.asarray(prob_over_nbinom(np.maximum(mu, 0.05), line, self._phi(tiers)))
        return np.asarray(prob_over(mu, line, self._sigma(tiers)))

    def _sigma(self, tiers: np.ndarray) -> np.ndarray:
        default = float(np.median(list(self.sigma_by_tier.values())))
        return np.array([self.sigma_by_tier.get(t, default) for t in tiers], dtype=float)

    def _phi(self, tiers: np.ndarray) -> np.ndarray:
        widest = max(self.phi_by_tier.values())
        return np.array([self.phi_by_tier.get(str(t), widest) for t in tiers], dtype=float)

    def prob_over(self, mu: np.ndarray, line: np.ndarray, tiers: np.ndarray) -> np.ndarray:
        """Calibrated P(over | no push): each tier's calibrator (fit on settled props)."""
        raw = self.raw_prob_over(mu, line, tiers)
        out = np.asarray(self.calibrator.predict(raw), dtype=float)
        tier_names = np.asarray(tiers).astype(str)
        for tier, calibrator in self.tier_calibrators.items():
            rows = tier_names == tier
            if rows.any():
                out[rows] = np.asarray(calibrator.predict(raw[rows]), dtype=float)
        return out

    def prob_push(self, mu: np.ndarray, line: np.ndarray, tiers: np.ndarray) -> np.ndarray:
        """P(push): zero for half-point lines, the distribution's mass at a whole line."""
        mu, line = np.asarray(mu, float), np.asarray(line, float)
        if self.phi_by_tier:
            return np.asarray(prob_push_nbinom(np.maximum(mu, 0.05), line, self._phi(tiers)))
        return np.asarray(prob_push(mu, line, self._sigma(tiers)))


def fit_tier_dispersion(
    y: np.ndarray, mu: np.ndarray, tiers: np.ndarray, min_count: int = 50
) -> dict[str, float]:
    """Variance / mean of the out-of-sample results around the predictions, by tier (method of
    moments, at least 1.0: Poisson); a tier with fewer than `min_count` rows gets the pooled."""
    y, mu = np.asarray(y, float), np.maximum(np.asarray(mu, float), 0.05)
    names = np.asarray(tiers).astype(str)
    keep = np.isfinite(y) & np.isfinite(mu)
    pooled = max(1.0, float(np.sum((y[keep] - mu[keep]) ** 2) / np.sum(mu[keep])))
    phi: dict[str, float] = {}
    for tier in pd.unique(names):
        rows = keep & (names == tier)
        if rows.sum() < min_count:
            phi[str(tier)] = pooled
            continue
        phi[str(tier)] = max(1.0, float(np.sum((y[rows] - mu[rows]) ** 2) / np.sum(mu[rows])))
    return phi


def calibration_props(keys: pd.DataFrame, lines: pd.DataFrame, market: str) -> pd.DataFrame:
    """The training window's props that `fit_props_model` reads: the opening lines of its
    calibration slice (the last CALIBRATION_FRACTION of its dates), `row` indexing the whole
    window as `props_for_rows(keys, ...)` would. Matching only the slice's rows skips the
    other 85 % of the window's merge with the lines."""
    _, cal_mask = time_split(keys["game_date"].reset_index(drop=True), CALIBRATION_FRACTION)
    positions = np.flatnonzero(np.asarray(cal_mask))
    props = props_for_rows(keys.iloc[positions], lines, market)
    return props.assign(row=positions[props["row"].to_numpy()])


def fit_props_model(
    X: pd.DataFrame,
    y: np.ndarray,
    dates: pd.Series,
    tiers: np.ndarray,
    props: pd.DataFrame,
    *,
    model_type: str,
    overrides: Mapping[str, Any],
    calibration: str,
    seed: int,
    n_jobs: int,
    member_hook: MemberHook = _plain_member_fit,
    executor: str = "local",
    dask_address: str | None = None,
) -> FittedPropsModel:
    """Fit on all given rows (the training window), holding out its last dates for calibration.

    `props` are the training window's lines with a `row` column indexing X positionally (only
    the calibration slice's are read: `calibration_props`).
    `executor="dask"` fits an ensemble's members as Dask tasks on the scheduler at
    `dask_address` (a throwaway local cluster without one); a single model always fits here.
    """
    check_executor(executor)
    fit_mask, cal_mask = time_split(dates.reset_index(drop=True), CALIBRATION_FRACTION)
    fit_mask, cal_mask = np.asarray(fit_mask), np.asarray(cal_mask)
    X_fit, X_cal = X[fit_mask], X[cal_mask]
    y_fit, y_cal = y[fit_mask], y[cal_mask]
    eval_set = [(X_cal, y_cal)]
    started = time.perf_counter()
    params: dict[str, Any]
    if model_type == "ensemble":
        member_params = {
            name: resolve_params(name, overrides.get(name, {}), seed, n_jobs)
            for name in ENSEMBLE_MEMBERS
        }
        params = {"n_members": len(ENSEMBLE_MEMBERS), **member_params}
        rows = _MemberRows(X_fit, y_fit, eval_set)
        fits: dict[str, Callable[[], Regressor]]
        if executor == "dask":
            fitted_remotely = _fit_members_on_dask(member_params, rows, dask_address)
            fits = {n: functools.partial(_already_fitted, m) for n, m in fitted_remotely.items()}
        else:
            fits = {n: functools.partial(_fit_member, n, p, rows) for n, p in member_params.items()}
        members = [member_hook(n, fits[n], executor == "dask") for n in ENSEMBLE_MEMBERS]
        model: Any = AveragingEnsemble(members, ENSEMBLE_MEMBERS)
    else:
        params = resolve_params(model_type, overrides, seed, n_jobs)
        model = fit_regressor(model_type, params, X_fit, y_fit, eval_set)

    cal_pred = np.asarray(model.predict(X_cal), dtype=float)
    sigma = fit_tier_spread(y_cal - cal_pred, tiers[cal_mask])
    fitted = FittedPropsModel(
        model=model,
        model_type=model_type,
        feature_names=list(X.columns),
        sigma_by_tier={str(k): float(v) for k, v in sigma.items()},
        calibrator=None,
        calibration_kind=calibration,
        params=params,
        fit_seconds=0.0,  # set once the probability layer is fitted too
        n_fit_rows=int(fit_mask.sum()),
        n_calibration_rows=int(cal_mask.sum()),
    )
    cal_positions = np.flatnonzero(cal_mask)
    cal_props = props[props["row"].isin(cal_positions)]
    pred_by_row = pd.Series(cal_pred, index=cal_positions)
    mu = pred_by_row.loc[cal_props["row"]].to_numpy()
    fitted.phi_by_tier = fit_tier_dispersion(y_cal, cal_pred, tiers[cal_mask])
    prop_tiers = np.asarray(tiers[cal_props["row"]]).astype(str)
    raw = fitted.raw_prob_over(mu, cal_props["line"].to_numpy(), prop_tiers)
    went_over, push = over_outcome(y[cal_props["row"]], cal_props["line"].to_numpy())
    keep = ~push
    fitted.calibrator = fit_calibrator(calibration, raw[keep], went_over[keep].astype(float))
    for tier in pd.unique(prop_tiers):
        rows = keep & (prop_tiers == tier)
        if rows.sum() >= MIN_TIER_CALIBRATION:
            fitted.tier_calibrators[str(tier)] = fit_calibrator(
                calibration, raw[rows], went_over[rows].astype(float)
            )
    fitted.fit_seconds = time.perf_counter() - started
    return fitted
