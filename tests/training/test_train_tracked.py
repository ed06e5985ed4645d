"""A real training run against a real SQLite MLflow store, read back with MlflowClient."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from nbaprops.data.feed import Feed
from nbaprops.settings import Settings
from nbaprops.tracking.setup import PHASES, fluent_store, init_tracking
from nbaprops.training.pipeline import TrainSpec, train_and_log
from nbaprops.training.prepare import PreparedData, prepare

REQUIRED_METRICS = (
    "train_mae",
    "train_rmse",
    "train_r2",
    "train_mape",
    "val_mae",
    "val_rmse",
    "val_r2",
    "val_mape",
    "n_features",
    "n_estimators",
    "training_time",
    "mae_tier1_stars",
    "mae_tier2_rotation",
    "mae_tier3_bench",
    "mae_home",
    "mae_away",
    "mae_b2b",
    "baseline_mae",
    "mae_vs_baseline",
    "oracle_mae",
    "mae_vs_oracle",
    "brier_score",
    "calibration_error",
    "sharpness",
)
REQUIRED_ARTIFACTS = (
    "feature_importance.png",
    "residuals.png",
    "calibration_curve.png",
    "confusion_matrix.png",
    "error_analysis.csv",
    "features.json",
    "training_config.json",
    "probability_model.json",
)
REQUIRED_TAGS = ("model_type", "feature_set_version", "data_digest", "code_version", "target")


@pytest.fixture(scope="module")
def prepared(small_feed: Feed) -> PreparedData:
    return prepare(small_feed, "PTS", "full")


SMALL = {
    "xgboost": {"n_estimators": 120, "learning_rate": 0.05, "max_depth": 3, "min_child_weight": 20},
    "lightgbm": {"n_estimators": 120, "learning_rate": 0.05, "num_leaves": 7},
}


def _small_params(model_type: str) -> dict[str, object]:
    """Fewer, shallower trees: the small feed has ~8,000 training rows."""
    if model_type == "ensemble":
        return dict(SMALL)
    return dict(SMALL[model_type])


@pytest.mark.parametrize("model_type", ["xgboost", "lightgbm", "ensemble"])
def test_training_run_has_every_metric_tag_and_artifact(
    settings: Settings, prepared: PreparedData, model_type: str, tmp_path: Path
) -> None:
    client = init_tracking(settings)
    experiment = client.get_experiment_by_name("Phase1_Foundation")
    assert experiment is not None
    spec = TrainSpec(model_type=model_type, params=_small_params(model_type), seed=3)
    result = train_and_log(
        prepared, spec, experiment.experiment_id, dt.date(2025, 10, 14), client=client
    )

    run = MlflowClient(settings.resolved_tracking_uri).get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name.startswith("20251014_")
    metrics = run.data.metrics
    for name in REQUIRED_METRICS:
        assert name in metrics, name
        assert math.isfinite(metrics[name]), name
    season_metrics = [k for k in metrics if k.startswith("mae_20")]
    assert season_metrics, "per-season MAE missing"
    # Honest numbers on synthetic data: beat the rolling average, never beat the oracle by much.
    assert metrics["val_mae"] < metrics["baseline_mae"]
    assert metrics["val_mae"] > 0.95 * metrics["oracle_mae"]
    assert 0.0 <= metrics["calibration_error"] <= 1.0
    assert 0.0 < metrics["brier_score"] < 0.3
    for tag in REQUIRED_TAGS:
        assert run.data.tags.get(tag), tag
    assert run.data.tags["model_type"] == model_type

    artifacts = {a.path for a in client.list_artifacts(result.run_id)}
    for name in REQUIRED_ARTIFACTS:
        assert name in artifacts, name
    assert any(a.startswith("predictions_") for a in artifacts)
    folder = Path(client.download_artifacts(result.run_id, "features.json", str(tmp_path)))
    features = json.loads(folder.read_text())
    assert features["count"] == metrics["n_features"]
    config = json.loads(
        Path(
            client.download_artifacts(result.run_id, "training_config.json", str(tmp_path))
        ).read_text()
    )
    assert config["val_dates"][0] > config["train_dates"][1]  # validation strictly after

    with fluent_store(client):
        probs = mlflow.artifacts.load_text(f"runs:/{result.run_id}/prop_probabilities.csv")
    import io

    import pandas as pd

    frame = pd.read_csv(io.StringIO(probs))
    assert frame["p_over"].between(0, 1).all()

    assert result.model_uri.startswith("models:/m-")
    with fluent_store(client):
        model = mlflow.pyfunc.load_model(result.model_uri)
    preds = model.predict(prepared.X.head(20))
    assert len(preds) == 20

    inputs = run.inputs.dataset_inputs
    assert inputs and inputs[0].dataset.digest == prepared.feed_digest

    if model_type == "ensemble":
        children = client.search_runs(
            [experiment.experiment_id],
            filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'",
        )
        assert sorted(c.data.tags["model_type"] for c in children) == ["lightgbm", "xgboost"]
    else:
        # autologging recorded the booster's own parameters and the per-iteration curve
        assert "learning_rate" in run.data.params
        curve = next(k for k in metrics if k.startswith(("validation_0", "valid_0")))
        history = client.get_metric_history(result.run_id, curve)
        assert len(history) > 1


def test_init_tracking_is_idempotent(settings: Settings) -> None:
    first = init_tracking(settings)
    ids = {e.name: e.experiment_id for e in first.search_experiments()}
    second = init_tracking(settings)
    again = {e.name: e.experiment_id for e in second.search_experiments()}
    assert ids == again
    for phase in PHASES:
        experiment = second.get_experiment_by_name(phase.experiment)
        assert experiment is not None
        assert experiment.tags["project"] == "nba_props"
        assert experiment.tags["phase"] == phase.key
        assert experiment.artifact_location.startswith("file://")
        assert str(settings.resolved_artifact_root) in experiment.artifact_location


def test_file_store_is_refused(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, tracking_uri=f"file://{tmp_path}/mlruns")
    with pytest.raises(ValueError, match="file store"):
        init_tracking(settings)
