"""Evidence pinned to the version: a backtest of another recipe, other betting rules or other
data is never taken as a version's evidence, however recent it is."""

from __future__ import annotations

import json
from typing import Any

from mlflow.tracking import MlflowClient

from governance.evidence import expected_pins, latest_backtest
from nbaprops.backtest.pinning import (
    BETTING_TAG,
    RECIPE_TAG,
    STANDARD_BETTING,
    betting_digest,
    recipe_digest,
    standard_betting_digest,
)
from nbaprops.backtest.walkforward import BacktestSpec
from nbaprops.settings import Settings
from nbaprops.tracking.setup import init_tracking
from tests.support.backtests import production_experiment_id

PARAMS = {"n_estimators": 60, "num_leaves": 7}


def _training_run(client: MlflowClient, experiment_id: str) -> str:
    run = client.create_run(experiment_id, tags={"project": "nba_props"})
    config = {
        "model_type": "lightgbm",
        "model_params": {**PARAMS, "random_state": 42, "n_jobs": 2},
        "feature_set": "full",
        "calibration": "isotonic",
        "target": "PTS",
    }
    client.log_text(run.info.run_id, json.dumps(config), "training_config.json")
    client.set_terminated(run.info.run_id)
    return str(run.info.run_id)


def _backtest(client: MlflowClient, experiment_id: str, tags: dict[str, str], roi: float) -> str:
    base = {"backtest": "walk_forward", "model_version": "1", "backtest_window": "W"}
    run = client.create_run(experiment_id, tags={**base, **tags})
    client.log_metric(run.info.run_id, "wf_roi", roi)
    client.set_terminated(run.info.run_id)
    return str(run.info.run_id)


def test_a_mismatched_backtest_is_ignored(settings: Settings) -> None:
    client = init_tracking(settings)
    eid = production_experiment_id(client)
    pins = expected_pins(client, _training_run(client, eid))
    # what run_tracked_backtest tags when it replays the version's own recipe and rules
    assert pins[RECIPE_TAG] == recipe_digest("lightgbm", PARAMS, "isotonic", "full", "PTS")
    assert pins[BETTING_TAG] == standard_betting_digest()
    honest = _backtest(client, eid, {**pins, "data_digest": "d1"}, 0.01)
    # later runs tagged with the same model_version: other params, other betting, other data
    tuned = recipe_digest("lightgbm", {**PARAMS, "num_leaves": 63}, "isotonic", "full", "PTS")
    _backtest(client, eid, {**pins, RECIPE_TAG: tuned}, 0.30)
    loose = betting_digest(**{**STANDARD_BETTING, "edge_threshold": 0.0})
    _backtest(client, eid, {**pins, BETTING_TAG: loose}, 0.20)
    _backtest(client, eid, {"model_type": "lightgbm"}, 0.40)  # unpinned (older nbaprops)
    _backtest(client, eid, {**pins, "data_digest": "d2"}, 0.25)

    found = latest_backtest(client, "1", "W", pins)
    assert found is not None and found.data.tags["data_digest"] == "d2"
    pinned_to_data = latest_backtest(client, "1", "W", {**pins, "data_digest": "d1"})
    assert pinned_to_data is not None and pinned_to_data.info.run_id == honest
    unpinned = latest_backtest(client, "1", "W")
    assert unpinned is not None and unpinned.data.metrics["wf_roi"] == 0.25  # the old behaviour


def test_an_unreadable_recipe_matches_no_backtest(settings: Settings) -> None:
    client = init_tracking(settings)
    bare = client.create_run(production_experiment_id(client))
    pins: dict[str, Any] = expected_pins(client, bare.info.run_id)
    assert pins[RECIPE_TAG] == "unreadable-recipe"


def test_the_standard_betting_rules_are_the_backtest_defaults() -> None:
    spec = BacktestSpec()
    assert standard_betting_digest() == betting_digest(
        spec.edge_threshold,
        spec.kelly_multiplier,
        spec.kelly_cap,
        spec.line_shopping,
        spec.min_history_games,
    )
