"""Fixtures for the registry tests: one small trained run, copied into a fresh store per test.

Training a run and creating a store take seconds, so the session trains one tiny XGBoost run
into a template store; each test gets a copy of that SQLite file (its runs keep pointing at the
template's artifact folder, which the registry only reads) and its own state database.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class TrainedStore:
    """The template store: its folder and the one trained run in it."""

    home: Path
    run_id: str
    model_uri: str
    experiment_id: str


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory: pytest.TempPathFactory, small_feed: Feed) -> TrainedStore:
    """One tiny XGBoost training run in a template SQLite store."""
    from nbaprops.training.pipeline import TrainSpec, train_and_log
    from nbaprops.training.prepare import prepare

    home = tmp_path_factory.mktemp("trained") / "state"
    settings = Settings(
        home=home,
        tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
        teams=6,
        seasons="2023-24,2024-25",
        seed=7,
        _env_file=None,  # type: ignore[call-arg]
    )
    client = init_tracking(settings)
    experiment = client.get_experiment_by_name("Phase1_Foundation")
    assert experiment is not None
    data = prepare(small_feed, "PTS", "full")
    spec = TrainSpec(params={"n_estimators": 30, "max_depth": 3}, seed=7, n_jobs=2)
    result = train_and_log(data, spec, experiment.experiment_id, dt.date(2025, 1, 6), client=client)
    return TrainedStore(home, result.run_id, result.model_uri, experiment.experiment_id)


def copy_store(template: TrainedStore, home: Path) -> Settings:
    """Settings whose tracking store is a copy of the template's."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(template.home / "mlflow.db", home / "mlflow.db")
    return Settings(
        home=home,
        tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
        teams=6,
        seasons="2023-24,2024-25",
        seed=7,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def store_settings(trained_store: TrainedStore, tmp_path: Path) -> Settings:
    """Settings on a private copy of the template store (state DB in the same folder)."""
    return copy_store(trained_store, tmp_path / "state")


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
        experiment = gov.client.get_experiment_by_name("Phase4_Production")
        assert experiment is not None
        tags = {
            "backtest": "walk_forward",
            "model_version": str(version),
            "backtest_window": window,
            "model_type": "xgboost",
            **expected_pins(gov.client, get_version(gov.client, MODEL_NAME, str(version)).run_id),
        }
        with (
            fluent_store(gov.client),
            mlflow.start_run(experiment_id=experiment.experiment_id, tags=tags) as run,
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


def _as_postgres_user(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def registry_pg_socket() -> Iterator[str]:
    """A throwaway PostgreSQL 15 cluster on a Unix socket, for the registry's state DB tests."""
    missing = None
    if not (shutil.which("initdb") and shutil.which("pg_ctl")):
        missing = "PostgreSQL binaries (initdb, pg_ctl) are not installed"
    elif os.geteuid() == 0 and not shutil.which("runuser"):
        missing = "running as root without runuser: cannot start PostgreSQL"
    if missing:
        if os.environ.get("CI") == "true" or os.environ.get("NBAPROPS_CI") == "1":
            pytest.fail(f"{missing}; CI must run the PostgreSQL tests (see .ci/run)")
        pytest.skip(missing)
    folder = tempfile.mkdtemp(prefix="nbaprops-registry-pg-")
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres")
    data = os.path.join(folder, "data")

    def pg(*args: str) -> None:
        subprocess.run(_as_postgres_user(list(args)), check=True, capture_output=True)

    pg("initdb", "-D", data, "-A", "trust", "-U", "postgres", "-N")
    log = os.path.join(folder, "log")
    pg("pg_ctl", "-D", data, "-o", f"-k {folder} -h '' -F", "-l", log, "-w", "start")
    try:
        yield folder
    finally:
        pg("pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


_pg_schemas = itertools.count()


@pytest.fixture
def pg_state_engine(registry_pg_socket: str) -> Iterator[sa.Engine]:
    """A state database on PostgreSQL: a fresh schema of the throwaway cluster."""
    schema = f"registry_{next(_pg_schemas)}"
    url = f"postgresql+psycopg://postgres@/postgres?host={registry_pg_socket}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    engine = sa.create_engine(url, connect_args={"options": f"-c search_path={schema}"})
    yield engine
    engine.dispose()
