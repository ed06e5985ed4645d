"""Ensemble members fitted as Dask tasks give the local run's model and the same member runs."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import mlflow
import pytest
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from nbaprops.data.feed import Feed
from nbaprops.distributed import ExecutorError
from nbaprops.settings import Settings
from nbaprops.tracking.setup import fluent_store, init_tracking
from nbaprops.training.fit import fit_props_model
from nbaprops.training.pipeline import TrainResult, TrainSpec, train_and_log
from nbaprops.training.prepare import PreparedData, prepare
from tests.support.dask_cluster import local_dask_cluster

distributed = pytest.importorskip("distributed", reason="Dask is an optional extra: nbaprops[dask]")

TINY = {
    "xgboost": {"n_estimators": 30, "max_depth": 3, "min_child_weight": 20},
    "lightgbm": {"n_estimators": 30, "num_leaves": 7},
}
# n_jobs is explicit in the members' params, so a worker fits with as many threads as this
# process does (the cluster's threads_per_worker=1 does not change it)
SPEC = TrainSpec(model_type="ensemble", params=TINY, seed=5, n_jobs=2)
DAY = dt.date(2025, 10, 14)
TIMINGS = {"training_time", "tracking_overhead_seconds"}


@pytest.fixture(scope="module")
def prepared(small_feed: Feed) -> PreparedData:
    return prepare(small_feed, "PTS", "full")


@pytest.fixture(scope="module")
def scheduler_address() -> Iterator[str]:
    """A running cluster of two single-threaded worker processes."""
    with local_dask_cluster(processes=True) as address:
        yield address


def _members(client: MlflowClient, result: TrainResult) -> dict[str, Run]:
    experiment = client.get_experiment_by_name(result.experiment)
    assert experiment is not None
    children = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'"
    )
    return {c.data.tags["model_type"]: c for c in children}


def _curve(client: MlflowClient, run: Run) -> tuple[str, list[tuple[int, float]]]:
    """The member's per-iteration evaluation curve, as (step, value) pairs."""
    key = next(k for k in run.data.metrics if k.startswith(("validation_0-", "valid_0-")))
    history = client.get_metric_history(run.info.run_id, key)
    return key, sorted((m.step, m.value) for m in history)


def test_dask_members_match_the_local_run_and_log_the_same(
    settings: Settings, prepared: PreparedData, scheduler_address: str
) -> None:
    client = init_tracking(settings)
    experiment = client.get_experiment_by_name("Phase1_Foundation")
    assert experiment is not None
    local = train_and_log(prepared, SPEC, experiment.experiment_id, DAY, client=client)
    dask_spec = dataclasses.replace(SPEC, executor="dask", dask_address=scheduler_address)
    on_dask = train_and_log(prepared, dask_spec, experiment.experiment_id, DAY, client=client)

    # the same model: every validation number equal, to the last bit
    assert on_dask.metrics.keys() == local.metrics.keys()
    for name in local.metrics.keys() - TIMINGS:
        assert on_dask.metrics[name] == local.metrics[name], name
    assert on_dask.metrics["val_mae"] == local.metrics["val_mae"]
    predictions = [a.path for a in client.list_artifacts(local.run_id) if "predictions_" in a.path]
    assert predictions, "validation predictions missing"
    for artifact in [*predictions, "prop_probabilities.csv", "error_analysis.csv"]:
        with fluent_store(client):
            texts = [
                mlflow.artifacts.load_text(f"runs:/{r.run_id}/{artifact}") for r in (local, on_dask)
            ]
        assert texts[0] == texts[1], artifact

    # the same member runs: params, tree count and the per-iteration curve, autologged or not
    local_members, dask_members = _members(client, local), _members(client, on_dask)
    assert sorted(local_members) == sorted(dask_members) == ["lightgbm", "xgboost"]
    for name, local_run in local_members.items():
        dask_run = dask_members[name]
        for run in (local_run, dask_run):
            assert run.data.params["random_state"] == str(SPEC.seed)
            assert run.data.metrics["n_estimators"] == 30
        assert dask_run.data.params["learning_rate"] == local_run.data.params["learning_rate"]
        local_key, local_curve = _curve(client, local_run)
        dask_key, dask_curve = _curve(client, dask_run)
        assert dask_key == local_key
        assert len(dask_curve) == 30
        assert dask_curve == local_curve

    # nothing else was logged (no stray autolog runs from the workers) and the cluster is clean
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 6
    with distributed.Client(scheduler_address, set_as_default=False) as dask:
        assert not dask.who_has()


def test_an_unknown_executor_is_refused_before_any_fit(prepared: PreparedData) -> None:
    with pytest.raises(ExecutorError, match="NBAPROPS_EXECUTOR to one of: local, dask"):
        fit_props_model(
            prepared.X.head(10),
            prepared.y[:10],
            prepared.segments["game_date"].head(10),
            prepared.segments["tier"].to_numpy()[:10],
            prepared.lines.head(0),
            model_type="ensemble",
            overrides=TINY,
            calibration="isotonic",
            seed=1,
            n_jobs=1,
            executor="ray",
        )
