"""Read back how a logged training run was made, so a backtest can replay the same recipe."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient

#: Parameters the pipeline adds itself; a replay must not pass them as overrides.
_MANAGED = {"random_state", "n_jobs"}


@dataclass(frozen=True)
class TrainRecipe:
    """Model type, hyper-parameters, feature set, calibration and target of a training run."""

    model_type: str
    params: dict[str, Any] = field(default_factory=dict)
    feature_set: str = "full"
    calibration: str = "isotonic"
    target: str = "PTS"


def _overrides(model_type: str, params: dict[str, Any]) -> dict[str, Any]:
    if model_type == "ensemble":
        return {
            member: {k: v for k, v in values.items() if k not in _MANAGED}
            for member, values in params.items()
            if isinstance(values, dict)
        }
    return {k: v for k, v in params.items() if k not in _MANAGED}


def recipe_of_run(client: MlflowClient, run_id: str) -> TrainRecipe:
    """The recipe recorded in a training run's training_config.json artifact."""
    with tempfile.TemporaryDirectory() as tmp:
        path = client.download_artifacts(run_id, "training_config.json", tmp)
        config = json.loads(Path(path).read_text())
    model_type = str(config["model_type"])
    return TrainRecipe(
        model_type=model_type,
        params=_overrides(model_type, dict(config.get("model_params", {}))),
        feature_set=str(config.get("feature_set", "full")),
        calibration=str(config.get("calibration", "isotonic")),
        target=str(config.get("target", "PTS")),
    )
