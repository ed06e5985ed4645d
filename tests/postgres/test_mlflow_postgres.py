"""MLflow's backend store on a real PostgreSQL: experiments, a tracked run, the registry."""

from __future__ import annotations

import datetime as dt

import mlflow
import numpy as np
import pytest
import sqlalchemy as sa
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from nbaprops.data.feed import Feed
from nbaprops.settings import Settings
from nbaprops.tracking.setup import MONITORING_EXPERIMENT, PHASES, fluent_store, init_tracking
from nbaprops.training.pipeline import TrainResult, TrainSpec, train_and_log
from nbaprops.training.prepare import PreparedData, prepare

pytestmark = pytest.mark.postgres

MODEL_NAME = "nbaprops-pts"
DAY = dt.date(2025, 1, 13)
MLFLOW_TABLES = {
    "alembic_version",
    "experiments",
    "runs",
    "metrics",
    "registered_models",
    "model_versions",
    "registered_model_aliases",
    "logged_models",
}


@pytest.fixture(scope="module")
def prepared(small_feed: Feed) -> PreparedData:
    return prepare(small_feed, "PTS", "full")


@pytest.fixture
def pg_settings(settings: Settings, postgres_url: str) -> Settings:
    """The shared test settings with MLflow's backend store on PostgreSQL."""
    return settings.model_copy(update={"tracking_uri": postgres_url})


def _train(settings: Settings, data: PreparedData, seed: int) -> TrainResult:
    uri = settings.resolved_tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name("Phase1_Foundation")
    assert experiment is not None
    spec = TrainSpec(params={"n_estimators": 20}, seed=seed, n_jobs=1)
    return train_and_log(data, spec, experiment.experiment_id, DAY, client=client)


def _register(client: MlflowClient, result: TrainResult) -> str:
    """Register the logged model (models:/m-...), never runs:/, through the quiet client."""
    model_id = result.model_uri.removeprefix("models:/")
    # MLflow's SQL registry store looks the logged model up through the global store
    with fluent_store(client):
        version = client.create_model_version(
            MODEL_NAME,
            source=result.model_uri,
            run_id=result.run_id,
            model_id=model_id,
            tags={"lifecycle": "staging", "val_mae": f"{result.metrics['val_mae']:.4f}"},
        )
    return str(version.version)


def test_init_tracking_creates_the_store_and_experiments_once(
    pg_settings: Settings, postgres_url: str
) -> None:
    first = init_tracking(pg_settings)
    ids = {e.name: e.experiment_id for e in first.search_experiments()}
    second = init_tracking(pg_settings)
    assert {e.name: e.experiment_id for e in second.search_experiments()} == ids
    assert {p.experiment for p in PHASES} | {MONITORING_EXPERIMENT} <= ids.keys()
    for phase in PHASES:
        experiment = second.get_experiment_by_name(phase.experiment)
        assert experiment is not None
        assert experiment.tags["phase"] == phase.key
        # a database store keeps its artifacts in the configured folder, not the cwd
        assert experiment.artifact_location == (
            (pg_settings.resolved_artifact_root / phase.experiment).as_uri()
        )

    engine = sa.create_engine(postgres_url)
    try:
        assert set(sa.inspect(engine).get_table_names()) >= MLFLOW_TABLES
        with engine.connect() as conn:
            names = conn.execute(sa.text("SELECT name FROM experiments")).scalars().all()
        assert set(ids) <= set(names)
    finally:
        engine.dispose()


def test_train_register_and_move_the_alias_on_postgres(
    pg_settings: Settings, prepared: PreparedData
) -> None:
    client = init_tracking(pg_settings)
    client.create_registered_model(MODEL_NAME, tags={"target": "PTS"})
    first = _train(pg_settings, prepared, seed=1)
    second = _train(pg_settings, prepared, seed=2)
    v1, v2 = _register(client, first), _register(client, second)
    assert (v1, v2) == ("1", "2")

    client.set_registered_model_alias(MODEL_NAME, "champion", v1)
    client.set_registered_model_alias(MODEL_NAME, "challenger", v2)
    client.set_registered_model_alias(MODEL_NAME, "champion", v2)  # a promotion
    client.delete_registered_model_alias(MODEL_NAME, "challenger")
    client.set_model_version_tag(MODEL_NAME, v1, "lifecycle", "archived")
    client.set_model_version_tag(MODEL_NAME, v2, "lifecycle", "production")

    # Read everything back through a fresh client (new engine, new connections).
    fresh = MlflowClient(tracking_uri=pg_settings.resolved_tracking_uri)
    champion = fresh.get_model_version_by_alias(MODEL_NAME, "champion")
    assert str(champion.version) == v2
    assert champion.run_id == second.run_id
    assert champion.source == second.model_uri
    assert champion.tags["lifecycle"] == "production"
    assert fresh.get_model_version(MODEL_NAME, v1).tags["lifecycle"] == "archived"
    aliases = fresh.get_registered_model(MODEL_NAME).aliases
    assert {alias: str(version) for alias, version in aliases.items()} == {"champion": v2}
    with pytest.raises(MlflowException):
        fresh.get_model_version_by_alias(MODEL_NAME, "challenger")

    run = fresh.get_run(second.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["model_uri"] == second.model_uri
    assert run.data.metrics["val_mae"] == pytest.approx(second.metrics["val_mae"])
    artifacts = {a.path for a in fresh.list_artifacts(second.run_id)}
    assert {"training_config.json", "probability_layer.pkl", "features.json"} <= artifacts

    # start_time filters are milliseconds, on PostgreSQL as on SQLite
    since_ms = run.info.start_time - 1
    found = fresh.search_runs(
        [run.info.experiment_id],
        filter_string=f"attributes.start_time >= {since_ms} and tags.model_type = 'xgboost'",
    )
    assert second.run_id in {r.info.run_id for r in found}

    with fluent_store(client):
        model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
        rows = prepared.X.head(25)
        expected = mlflow.pyfunc.load_model(second.model_uri).predict(rows)
    np.testing.assert_array_equal(np.asarray(model.predict(rows)), np.asarray(expected))
