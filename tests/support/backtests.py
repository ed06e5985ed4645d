"""Walk-forward backtests in tests: the experiment they log to and a recipe quick to replay."""

from __future__ import annotations

import pandas as pd
from mlflow import MlflowClient

from nbaprops.backtest.walkforward import BacktestSpec
from nbaprops.tracking.setup import phase_by_key

#: Shallow trees over the last weeks of the 2024-25 season, one refit, one worker: a few seconds.
QUICK_SPEC = BacktestSpec(
    params={"n_estimators": 30, "max_depth": 3},
    start=pd.Timestamp("2025-03-15"),
    refit_days=60,
    workers=1,
)


def production_experiment_id(client: MlflowClient) -> str:
    """The id of the production phase's experiment, where tracked backtests log."""
    name = phase_by_key("production").experiment
    experiment = client.get_experiment_by_name(name)
    assert experiment is not None, f"no experiment {name}: initialise the store (init_tracking)"
    return str(experiment.experiment_id)
