"""MLflow pyfunc wrapper for the averaging ensemble (single boosters use their native flavors)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from nbaprops.models.regressors import AveragingEnsemble


class EnsemblePyfunc(PythonModel):
    """Serves an AveragingEnsemble through mlflow.pyfunc.load_model."""

    def __init__(self, ensemble: AveragingEnsemble) -> None:
        self.ensemble = ensemble

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> np.ndarray:
        """Mean of the members' point predictions."""
        return self.ensemble.predict(model_input)
