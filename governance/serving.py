"""Load a registered version for scoring: its model from the project's own registry, plus the
probability layer (tier spreads and calibrator) and feature list logged with its training run.
"""

from __future__ import annotations

import json
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from governance.registry import MODEL_NAME, VersionInfo, get_version
from nbaprops.tracking.setup import fluent_store
from nbaprops.training.fit import FittedPropsModel


@dataclass(frozen=True)
class ServedModel:
    """A registered version ready to predict points and P(over)."""

    version: VersionInfo
    model: FittedPropsModel
    val_mae: float | None
    val_mae_props: float | None
    feature_set: str


def load_version(client: MlflowClient, version: str, name: str = MODEL_NAME) -> ServedModel:
    """Load a version by number (never by a stage name): model, feature list, probability layer.

    The probability layer is a pickle written by this project's own training pipeline into the
    version's run; nothing is loaded from outside the project's registry and store.
    """
    info = get_version(client, name, version)
    run = client.get_run(info.run_id)
    with fluent_store(client):
        pyfunc = mlflow.pyfunc.load_model(f"models:/{name}/{info.version}")
    with tempfile.TemporaryDirectory() as tmp:
        features = json.loads(
            Path(client.download_artifacts(info.run_id, "features.json", tmp)).read_text()
        )
        layer_path = client.download_artifacts(info.run_id, "probability_layer.pkl", tmp)
        layer = pickle.loads(Path(layer_path).read_bytes())
    fitted = FittedPropsModel(
        model=pyfunc,
        model_type=run.data.tags.get("model_type", "unknown"),
        feature_names=list(features["features"]),
        sigma_by_tier=dict(layer["sigma_by_tier"]),
        calibrator=layer["calibrator"],
        phi_by_tier=dict(layer.get("phi_by_tier", {})),
        tier_calibrators=dict(layer.get("tier_calibrators", {})),
        calibration_kind=run.data.tags.get("calibration", "isotonic"),
        params={},
        fit_seconds=0.0,
        n_fit_rows=0,
        n_calibration_rows=0,
    )
    metrics = run.data.metrics
    return ServedModel(
        version=info,
        model=fitted,
        val_mae=metrics.get("val_mae"),
        val_mae_props=metrics.get("val_mae_props"),
        feature_set=run.data.tags.get("feature_set", "full"),
    )
