"""Fixtures for the registry tests: one small trained run, copied into a fresh store per test.

The session trains one tiny XGBoost run into a template store (tests/support/stores.py); each
test gets a copy of its tracking file and its own state database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import mlflow
import pytest
import sqlalchemy as sa

from governance.evidence import expected_pins
from governance.policy import Policy, parse_policy
from governance.registry import MODEL_NAME, get_version
from jobs.cli.governance import Governance
from nbaprops.data.feed import Feed
from nbaprops.settings import Settings
from nbaprops.statedb import state_engine
from nbaprops.tracking.setup import fluent_store, init_tracking
from tests.support.backtests import production_experiment_id
from tests.support.postgres import PostgresServer
from tests.support.stores import TrainedStore, copy_store, train_store

T0 = dt.datetime(2025, 1, 13, 6, 0, tzinfo=dt.UTC)
WINDOW = "2024-12-01..2025-01-10"

PERMISSIVE_POLICY = """
version = 1
sample_size_metric = "n_val_props"

[[criteria]]
name = "accuracy"
metric = "val_mae"
op = "<"
threshold = 100
on_fail = "reject"

[champion]
[[champion.comparisons]]
metric = "val_mae"
max_worse_by = 100
"""

STRICT_POLICY = PERMISSIVE_POLICY.replace("threshold = 100", "threshold = 0.5", 1)
WAITING_POLICY = STRICT_POLICY.replace('on_fail = "reject"', 'on_fail = "keep_in_staging"', 1)


def store_settings_at(home: Path) -> Settings:
    """The registry tests' settings (6 teams, 2 seasons) with the tracking store in `home`."""
    return Settings(
        home=home,
        tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
        teams=6,
        seasons="2023-24,2024-25",
        seed=7,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory: pytest.TempPathFactory, small_feed: Feed) -> TrainedStore:
    """One tiny XGBoost training run in a template SQLite store."""
    settings = store_settings_at(tmp_path_factory.mktemp("trained") / "state")
    params = {"n_estimators": 30, "max_depth": 3}
    return train_store(settings, small_feed, dt.date(2025, 1, 6), phase="foundation", params=params)


@pytest.fixture
def store_settings(trained_store: TrainedStore, tmp_path: Path) -> Settings:
    """Settings on a private copy of the template store (state DB in the same folder)."""
    return store_settings_at(copy_store(trained_store.home, tmp_path / "state", ["mlflow.db"]))


@pytest.fixture
def gov(store_settings: Settings) -> Governance:
    """A fresh registry on a private copy of the template store, at T0, as actor 'test'."""
    client = init_tracking(store_settings)
    return Governance(client, state_engine(store_settings), MODEL_NAME, T0, "test")


@pytest.fixture
def run_id(trained_store: TrainedStore) -> str:
    """The trained run (with a logged model) to register."""
    return trained_store.run_id


@pytest.fixture
def window() -> str:
    """The backtest window the candidate's (and champion's) test backtests cover."""
    return WINDOW


@pytest.fixture(scope="session")
def permissive_policy() -> Policy:
    """Passes any sane model: for the paths where promotion is allowed."""
    return parse_policy(PERMISSIVE_POLICY, "permissive")


@pytest.fixture(scope="session")
def strict_policy() -> Policy:
    """Rejects every model (val_mae < 0.5, hard)."""
    return parse_policy(STRICT_POLICY, "strict")


@pytest.fixture(scope="session")
def waiting_policy() -> Policy:
    """Keeps every model in staging (val_mae < 0.5, soft)."""
    return parse_policy(WAITING_POLICY, "waiting")


BacktestLogger = Callable[..., str]


@pytest.fixture
def log_backtest(gov: Governance) -> BacktestLogger:
    """Log a finished walk-forward backtest run for a version, as the backtest job tags it."""

    def log(version: str, metrics: Mapping[str, float], window: str = WINDOW) -> str:
        experiment_id = production_experiment_id(gov.client)
        tags = {
            "backtest": "walk_forward",
            "model_version": str(version),
            "backtest_window": window,
            "model_type": "xgboost",
            **expected_pins(gov.client, get_version(gov.client, MODEL_NAME, str(version)).run_id),
        }
        with (
            fluent_store(gov.client),
            mlflow.start_run(experiment_id=experiment_id, tags=tags) as run,
        ):
            mlflow.log_metrics(dict(metrics))
        return run.info.run_id

    return log


RunCloner = Callable[..., str]


@pytest.fixture
def clone_run(gov: Governance, run_id: str) -> RunCloner:
    """A new finished run with the trained run's model and metrics and some tags changed."""

    def clone(**tag_changes: str) -> str:
        source = gov.client.get_run(run_id)
        run = gov.client.create_run(source.info.experiment_id, tags={**source.data.tags})
        for key, value in tag_changes.items():
            gov.client.set_tag(run.info.run_id, key, value)
        with fluent_store(gov.client), mlflow.start_run(run_id=run.info.run_id):
            mlflow.log_metrics(dict(source.data.metrics))
        return run.info.run_id

    return clone


@pytest.fixture(scope="session")
def registry_pg_socket(postgres_server: PostgresServer) -> str:
    """The folder of the session cluster's socket: the host of a socket URL."""
    return postgres_server.socket_dir


@pytest.fixture
def pg_state_engine(postgres_url: str) -> Iterator[sa.Engine]:
    """A state database on PostgreSQL: a fresh database of the session's throwaway cluster."""
    engine = sa.create_engine(postgres_url)
    yield engine
    engine.dispose()
