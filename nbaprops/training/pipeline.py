"""`nbaprops train`: one tracked run with every metric and artifact the guide names.

The fit and its evaluation are plain functions (fit.py, evaluation.py); this module only
decides what goes into MLflow and in which run, and keeps tracking cheap: what autologging
would record (booster params, per-iteration curve, importance tables) read off the fitted
booster and written with the run's metrics in a few batched calls; the plots and tables drawn
in forked processes beside this one's work (the fit's during the evaluation, the evaluation's
while the model is logged); one artifact upload; pinned pip requirements. The per-kind
importance plots autologging draws are an option (Settings.importance_plots), off by default.
"""

from __future__ import annotations

import datetime as dt
import pickle
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.data.code_dataset_source import CodeDatasetSource
from mlflow.data.meta_dataset import MetaDataset
from mlflow.entities import Metric
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from nbaprops.models.regressors import DEFAULT_PARAMS, Regressor, importance_of, n_estimators_of
from nbaprops.seasons import metric_suffix
from nbaprops.splits import time_split
from nbaprops.tracking.naming import key_param, run_name
from nbaprops.tracking.plots import (
    calibration_plot,
    confusion_matrix_plot,
    feature_importance_plot,
    residuals_plot,
)
from nbaprops.tracking.runlog import (
    code_version,
    log_metrics,
    log_run_batch,
    start_in_fork,
    start_tracked_run,
    write_csv,
    write_json,
)
from nbaprops.tracking.setup import phase_by_key
from nbaprops.training.evaluation import Evaluation, evaluate, training_metrics
from nbaprops.training.fit import (
    FittedPropsModel,
    MemberHook,
    calibration_props,
    fit_props_model,
)
from nbaprops.training.prepare import PreparedData
from nbaprops.training.props import props_for_rows

MIN_HISTORY_GAMES = 3


class NotEnoughDataError(ValueError):
    """The feed has too few dated games with history to split into training and validation."""


@dataclass(frozen=True)
class TrainSpec:
    """What to train: model type, phase, feature set, calibration, overrides and the split."""

    model_type: str = "xgboost"
    phase: str = "foundation"
    feature_set: str = "full"
    calibration: str = "isotonic"
    params: Mapping[str, Any] = field(default_factory=dict)
    val_fraction: float = 0.2
    min_history_games: int = MIN_HISTORY_GAMES
    seed: int = 42
    n_jobs: int = 2
    executor: str = "local"
    dask_address: str | None = None
    #: feature_importance_<kind>.png per importance kind of the booster, as MLflow's
    #: autologging draws them (Settings.importance_plots; the <kind>.json tables and
    #: feature_importance.png/.csv are always written)
    importance_plots: bool = False


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced, for the CLI and for the jobs that register models."""

    run_id: str
    run_name: str
    experiment: str
    model_uri: str
    metrics: dict[str, float]

    def headline(self) -> dict[str, float]:
        """The few numbers a person looks at first."""
        names = ("val_mae", "baseline_mae", "oracle_mae", "brier_score", "calibration_error")
        return {k: self.metrics[k] for k in names if k in self.metrics}


def pip_requirements(model_type: str) -> list[str]:
    """Pinned requirements for the logged model (inferring them costs ~10 s a model)."""
    from importlib.metadata import version

    packages = ["mlflow", "numpy", "pandas", "scikit-learn"]
    packages += {"xgboost": ["xgboost"], "lightgbm": ["lightgbm"]}.get(
        model_type, ["xgboost", "lightgbm", "cloudpickle"]
    )
    return [f"{p}=={version(p)}" for p in packages]


def _booster_record(model: Any) -> tuple[dict[str, Any], list[Metric]]:
    """What MLflow's autologging records of a fitted booster, read off it after the fit.

    Its parameters, and its per-iteration evaluation curve as one stepped metric per eval set
    and metric (`validation_0-rmse`, `valid_0-l2`), ready for one batched write: autologging's
    own callback writes the curve in up to a hundred small transactions during the fit.
    """
    params = dict(model.get_params())
    params["num_boost_round"] = params.get("n_estimators")  # autologging's name for it
    # both sklearn APIs keep the curves here: {eval set: {metric: [value per iteration]}}
    curves: dict[str, dict[str, list[float]]] = getattr(model, "evals_result_", {}) or {}
    timestamp = int(time.time() * 1000)
    metrics = [
        Metric(f"{eval_name}-{metric}", float(value), timestamp, step)
        for eval_name, by_metric in curves.items()
        for metric, values in by_metric.items()
        for step, value in enumerate(values)
    ]
    return params, metrics


def booster_importances(model: Any) -> dict[str, dict[str, float]]:
    """The importance tables autologging writes as feature_importance_<type>.json.

    XGBoost: `weight` (features never split on are absent); LightGBM: `split` and `gain`.
    """
    if hasattr(model, "get_booster"):
        return {"weight": dict(model.get_booster().get_score(importance_type="weight"))}
    if hasattr(model, "booster_"):
        booster = model.booster_
        names = booster.feature_name()
        return {
            kind: dict(
                zip(names, booster.feature_importance(importance_type=kind).tolist(), strict=True)
            )
            for kind in ("split", "gain")
        }
    return {}


def _member_hook(client: MlflowClient, parent_name: str) -> MemberHook:
    def hook(name: str, fit: Callable[[], Regressor], on_worker: bool) -> Regressor:
        parent = mlflow.active_run()
        assert parent is not None, "ensemble members are logged inside the parent run"
        experiment_id = parent.info.experiment_id
        with mlflow.start_run(
            run_name=f"{parent_name}_{name}", nested=True, experiment_id=experiment_id
        ) as child:
            model = fit()
            params, curve = _booster_record(model)
            log_run_batch(
                client,
                child.info.run_id,
                stepped=curve,
                params=params,
                tags={"model_type": name, "ensemble_member": "true"},
            )
            log_metrics({"n_estimators": float(n_estimators_of(model))})
            for kind, table in booster_importances(model).items():
                mlflow.log_dict(table, f"feature_importance_{kind}.json")
        return model

    return hook


def _log_model(fitted: FittedPropsModel, X_example: pd.DataFrame, run_id: str) -> Any:
    """Log the fitted model into run `run_id`, with its signature, example and requirements.

    The XGBoost and LightGBM flavours take the run explicitly; the ensemble's pyfunc flavour
    reads the active run (thread-local), so it must be called where the run was started."""
    example = X_example.dropna().head(5)
    if example.empty:
        example = X_example.head(5).fillna(0.0)
    signature = infer_signature(example, fitted.predict(example))
    common: dict[str, Any] = {
        "name": "model",
        "signature": signature,
        "input_example": example,
        "pip_requirements": pip_requirements(fitted.model_type),
    }
    if fitted.model_type == "xgboost":
        return mlflow.xgboost.log_model(fitted.model, run_id=run_id, **common)
    if fitted.model_type == "lightgbm":
        # the booster in LightGBM's own text format: the sklearn wrapper would be saved with
        # skops, dumped and re-loaded to check it (0.5-0.8 s a model); pyfunc serves both alike
        return mlflow.lightgbm.log_model(fitted.model.booster_, run_id=run_id, **common)
    from nbaprops.models.pyfunc import EnsemblePyfunc

    return mlflow.pyfunc.log_model(python_model=EnsemblePyfunc(fitted.model), **common)


def _write_fit_artifacts(
    folder: Path,
    data: PreparedData,
    fitted: FittedPropsModel,
    config: dict[str, Any],
    plots_by_kind: bool,
) -> None:
    """What the fit alone decides: importances, the feature list, the config, the
    probability layer. Drawn while the evaluation runs."""
    importance = importance_of(fitted.model, fitted.feature_names)
    feature_importance_plot(importance, folder / "feature_importance.png")
    importance.rename("importance").to_csv(folder / "feature_importance.csv", index_label="feature")
    for kind, table in booster_importances(fitted.model).items():
        write_json(folder / f"feature_importance_{kind}.json", table)
        if plots_by_kind:
            feature_importance_plot(
                pd.Series(table, dtype=float),
                folder / f"feature_importance_{kind}.png",
                title=f"Feature importance ({kind})",
            )
    write_json(
        folder / "features.json",
        {
            "feature_set": config["feature_set"],
            "feature_set_version": data.features.version,
            "count": len(fitted.feature_names),
            "features": fitted.feature_names,
            "tiers": data.features.tiers,
            "disabled": getattr(data.features, "disabled", {}),
        },
    )
    write_json(folder / "training_config.json", {**config, "model_params": fitted.params})
    write_json(
        folder / "probability_model.json",
        {
            "distribution": "negative binomial, variance = phi x mean, phi by tier",
            "phi_by_tier": fitted.phi_by_tier,
            "calibrated_tiers": sorted(fitted.tier_calibrators),
            "sigma_by_tier": fitted.sigma_by_tier,
            "calibration": fitted.calibration_kind,
            "fitted_on": "calibration slice: last dates of the training window, out-of-sample",
        },
    )
    layer = {
        "sigma_by_tier": fitted.sigma_by_tier,
        "calibrator": fitted.calibrator,
        "phi_by_tier": fitted.phi_by_tier,
        "tier_calibrators": fitted.tier_calibrators,
    }
    (folder / "probability_layer.pkl").write_bytes(pickle.dumps(layer))


def _draw_evaluation_plots(folder: Path, evaluation: Evaluation) -> None:
    """The validation window's plots."""
    preds = evaluation.predictions
    residuals_plot(
        preds["actual"].to_numpy(), preds["prediction"].to_numpy(), folder / "residuals.png"
    )
    calibration_plot(evaluation.calibration_curves, folder / "calibration_curve.png")
    confusion_matrix_plot(evaluation.confusion, folder / "confusion_matrix.png")


def _write_evaluation_tables(folder: Path, evaluation: Evaluation) -> None:
    """The validation window's tables."""
    for season, part in evaluation.predictions.groupby("season"):
        write_csv(part, folder / f"predictions_{metric_suffix(str(season))}.csv")
    write_csv(evaluation.props, folder / "prop_probabilities.csv")
    write_csv(evaluation.errors, folder / "error_analysis.csv")


def split_rows(data: PreparedData, spec: TrainSpec) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation positions: a time split on whole dates, min-history filter applied."""
    train_mask, val_mask = time_split(data.dates, spec.val_fraction)
    eligible = data.history_games >= spec.min_history_games
    train = np.flatnonzero(np.asarray(train_mask) & eligible)
    val = np.flatnonzero(np.asarray(val_mask) & eligible)
    return train, val


def train_and_log(
    data: PreparedData,
    spec: TrainSpec,
    experiment_id: str,
    day: dt.date,
    started_at: dt.datetime | None = None,
    *,
    client: MlflowClient,
) -> TrainResult:
    """Fit, evaluate and log one run (plus one child run per ensemble member) in client's store."""
    phase = phase_by_key(spec.phase)
    train, val = split_rows(data, spec)
    if len(train) == 0 or len(val) == 0:
        raise NotEnoughDataError(
            f"not enough data to train: {len(train)} training and {len(val)} validation rows "
            f"have {spec.min_history_games}+ earlier games; the feed needs several weeks of "
            "games (a CSV folder: more dates or players; the synthetic feed: more teams or "
            "seasons)"
        )
    X, y, seg = data.X, data.y, data.segments
    name = run_name(
        day,
        spec.model_type,
        spec.feature_set,
        key_param(spec.model_type, {**DEFAULT_PARAMS.get(spec.model_type, {}), **spec.params}),
    )
    train_props = calibration_props(seg.iloc[train].reset_index(drop=True), data.lines, data.target)
    val_seg = seg.iloc[val].reset_index(drop=True)
    baseline = data.baseline.copy()
    baseline[np.isnan(baseline)] = float(np.mean(y[train]))
    config = {
        "target": data.target,
        "model_type": spec.model_type,
        "phase": phase.experiment,
        "feature_set": spec.feature_set,
        "calibration": spec.calibration,
        "validation_type": "time split on whole dates (validation strictly after training)",
        "val_fraction": spec.val_fraction,
        "calibration_slice": "last 15% of training dates, held out of the fit",
        "filters": {"min_history_games": spec.min_history_games, "min_minutes": 0},
        "train_dates": [
            str(seg.game_date.iloc[train].min().date()),
            str(seg.game_date.iloc[train].max().date()),
        ],
        "val_dates": [str(val_seg.game_date.min().date()), str(val_seg.game_date.max().date())],
        "seasons": sorted(seg["season"].unique().tolist()),
        "n_train": len(train),
        "n_val": len(val),
        "seed": spec.seed,
        "data_source": data.source,
        "data_digest": data.feed_digest,
    }
    tags = {
        "model_type": spec.model_type,
        "feature_set": spec.feature_set,
        "feature_set_version": data.features.version,
        "target": data.target,
        "data_digest": data.feed_digest,
        "data_source": data.source,
        "code_version": code_version(),
        "phase": phase.key,
        "calibration": spec.calibration,
        "project": "nba_props",
    }
    started = time.perf_counter()
    with start_tracked_run(experiment_id, name, tags, started_at, client=client) as run:
        run_id = run.info.run_id
        fitted = fit_props_model(
            X.iloc[train].reset_index(drop=True),
            y[train],
            seg["game_date"].iloc[train].reset_index(drop=True),
            seg["tier"].to_numpy()[train],
            train_props,
            model_type=spec.model_type,
            overrides=spec.params,
            calibration=spec.calibration,
            seed=spec.seed,
            n_jobs=spec.n_jobs,
            member_hook=_member_hook(client, name),
            executor=spec.executor,
            dask_address=spec.dask_address,
        )
        booster_params, curve = (
            ({}, []) if spec.model_type == "ensemble" else _booster_record(fitted.model)
        )
        params = {
            **booster_params,
            "target": data.target,
            "feature_set": spec.feature_set,
            "calibration": spec.calibration,
            "val_fraction": spec.val_fraction,
            "min_history_games": spec.min_history_games,
            **(
                {"ensemble_members": ",".join(fitted.model.names)}
                if spec.model_type == "ensemble"
                else {}
            ),
        }
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            # Beside the evaluation: the fit's artifacts, drawn in a forked process. Beside the
            # training window's metrics, the model's logging and the run's batched writes: the
            # evaluation's plots and its tables, a forked process each. One upload once all
            # are written. (The model was logged in a thread beside the evaluation before: its
            # Python held the GIL the evaluation needed, and the plots were left to wait for.)
            waits = [
                start_in_fork(
                    lambda: _write_fit_artifacts(
                        folder, data, fitted, config, spec.importance_plots
                    )
                )
            ]
            try:
                val_props = props_for_rows(val_seg, data.lines, data.target)
                evaluation = evaluate(
                    fitted,
                    X.iloc[val].reset_index(drop=True),
                    y[val],
                    val_seg,
                    val_props,
                    baseline[val],
                    None if data.oracle is None else data.oracle[val],
                )
                metrics = {
                    **evaluation.metrics,
                    **training_metrics(fitted, X.iloc[train], y[train]),
                    "n_features": float(len(fitted.feature_names)),
                    "n_estimators": float(n_estimators_of(fitted.model)),
                    "training_time": fitted.fit_seconds,
                }
                waits += [
                    start_in_fork(lambda: _draw_evaluation_plots(folder, evaluation)),
                    start_in_fork(lambda: _write_evaluation_tables(folder, evaluation)),
                ]
                info = _log_model(fitted, X.iloc[val], run_id)
                mlflow.log_input(
                    MetaDataset(  # type: ignore[abstract]
                        CodeDatasetSource({"source": data.source, "target": data.target}),
                        name=f"{data.source}-{data.target}",
                        digest=data.feed_digest,
                    ),
                    context="training",
                )
                log_run_batch(
                    client,
                    run_id,
                    metrics=metrics,
                    stepped=curve,
                    params=params,
                    tags={"model_uri": info.model_uri},
                )
            finally:
                for wait in waits:
                    wait()
            client.log_artifacts(run_id, tmp)
        overhead = time.perf_counter() - started - fitted.fit_seconds
        metrics["tracking_overhead_seconds"] = overhead
        log_run_batch(client, run_id, metrics={"tracking_overhead_seconds": overhead})
    return TrainResult(run.info.run_id, name, phase.experiment, info.model_uri, metrics)
