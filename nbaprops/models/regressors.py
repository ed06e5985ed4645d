"""Gradient-boosted regressors for a prop target, with the project's default hyper-parameters.

Defaults are shallow and heavily regularised: on the four-season synthetic feed deeper trees
(XGBoost depth 6, LightGBM 31 leaves) lost to a 10-game rolling average on validation MAE.

Models use the scikit-learn API so MLflow's XGBoost/LightGBM autologging sees every fit.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

MODEL_TYPES: tuple[str, ...] = ("xgboost", "lightgbm", "ensemble")
ENSEMBLE_MEMBERS: tuple[str, ...] = ("xgboost", "lightgbm")

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "xgboost": {
        "n_estimators": 400,
        "max_depth": 4,
        "learning_rate": 0.03,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "min_child_weight": 50,
        "tree_method": "hist",
    },
    "lightgbm": {
        "n_estimators": 400,
        "num_leaves": 15,
        "learning_rate": 0.03,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "min_child_samples": 100,
        "verbose": -1,
    },
}


class UnknownModelError(ValueError):
    """A model type the project does not train."""


class Regressor(Protocol):
    """The part of the scikit-learn API the pipeline relies on."""

    def fit(self, X: pd.DataFrame, y: np.ndarray, **kwargs: Any) -> Any: ...

    def predict(self, X: pd.DataFrame) -> np.ndarray: ...


def coerce_param(value: str) -> Any:
    """Turn a CLI ``k=v`` value into int, float, bool or str."""
    lowered = value.lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def resolve_params(
    model_type: str, overrides: Mapping[str, Any], seed: int, n_jobs: int
) -> dict[str, Any]:
    """Default hyper-parameters of a single model type, with overrides, seed and threads."""
    if model_type not in DEFAULT_PARAMS:
        raise UnknownModelError(
            f"unknown model {model_type!r}; choose one of: {', '.join(MODEL_TYPES)}"
        )
    return {**DEFAULT_PARAMS[model_type], **overrides, "random_state": seed, "n_jobs": n_jobs}


def make_regressor(model_type: str, params: Mapping[str, Any]) -> Regressor:
    """A fresh, unfitted regressor of the given type."""
    if model_type == "xgboost":
        import xgboost as xgb

        return xgb.XGBRegressor(**params)
    if model_type == "lightgbm":
        import lightgbm as lgb

        return lgb.LGBMRegressor(**params)
    raise UnknownModelError(
        f"unknown model {model_type!r}; choose one of: {', '.join(MODEL_TYPES)}"
    )


def fit_regressor(
    model_type: str,
    params: Mapping[str, Any],
    X: pd.DataFrame,
    y: np.ndarray,
    eval_set: Sequence[tuple[pd.DataFrame, np.ndarray]] = (),
) -> Regressor:
    """Fit one regressor; `eval_set` (out-of-sample) gives the per-iteration curves."""
    model = make_regressor(model_type, params)
    kwargs: dict[str, Any] = {}
    if eval_set:
        if model_type == "lightgbm" and "eval_X" in inspect.signature(model.fit).parameters:
            # LightGBM 4.7 deprecates eval_set in favour of eval_X / eval_y
            kwargs["eval_X"] = tuple(x for x, _ in eval_set)
            kwargs["eval_y"] = tuple(y for _, y in eval_set)
        else:
            kwargs["eval_set"] = list(eval_set)
        if model_type == "xgboost":
            kwargs["verbose"] = False
    model.fit(X, y, **kwargs)
    return model


def n_estimators_of(model: Any) -> int:
    """Number of trees of a fitted booster (or the sum over an ensemble's members)."""
    members = getattr(model, "members", None)
    if members is not None:
        return sum(n_estimators_of(m) for m in members)
    return int(getattr(model, "n_estimators", 0) or 0)


class AveragingEnsemble:
    """Mean of its members' predictions; members were each fitted on the same rows."""

    def __init__(self, members: Sequence[Regressor], names: Sequence[str]) -> None:
        self.members = list(members)
        self.names = list(names)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Average of the members' predictions."""
        return np.mean([np.asarray(m.predict(X), dtype=float) for m in self.members], axis=0)

    def feature_importances(self, feature_names: Sequence[str]) -> pd.Series:
        """Mean of the members' normalised importances."""
        parts = [importance_of(m, feature_names) for m in self.members]
        return pd.concat(parts, axis=1).mean(axis=1)


def importance_of(model: Any, feature_names: Sequence[str]) -> pd.Series:
    """Feature importances normalised to sum to 1 (gain-like for both boosters)."""
    if isinstance(model, AveragingEnsemble):
        return model.feature_importances(feature_names)
    raw = np.asarray(getattr(model, "feature_importances_", np.zeros(len(feature_names))), float)
    total = raw.sum()
    values = raw / total if total > 0 else raw
    return pd.Series(values, index=list(feature_names))
