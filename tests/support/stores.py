"""A trained store made once per session and copied into each test's own folder.

Creating an MLflow store and training a run take seconds, so a suite builds one template in a
session fixture (`train_store`; `lived_in_store` adds version 1 in production) and each test
works on a copy of its SQLite files (`copy_store`). The copied
runs keep pointing at the template's artifact folder, which the tests only read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nbaprops.data.feed import Feed
from nbaprops.settings import Settings

#: The name the lived-in states register their model under (the settings' default).
MODEL = "NBAPropsModel"
#: The SQLite files of a state folder: the tracking store and the state database.
STORE_FILES = ("mlflow.db", "state.db")
#: Promotes any sane model: the lived-in states' version 1 passes it.
PERMISSIVE_POLICY = (
    'version = 1\nsample_size_metric = "n_val_props"\n[[criteria]]\nmetric = "val_mae"\n'
    'op = "<"\nthreshold = 100\n'
)


def four_team_settings(home: Path, **values: Any) -> Settings:
    """A tiny feed (4 teams, 2 seasons, seed 7, 2 workers) and nothing else configured but
    `values`; no environment, no .env."""
    base: dict[str, Any] = {
        "home": home,
        "teams": 4,
        "seasons": "2023-24,2024-25",
        "seed": 7,
        "workers": 2,
    }
    return Settings(_env_file=None, **{**base, **values})  # type: ignore[call-arg]


def tiny_settings(home: Path, **values: Any) -> Settings:
    """The tiny feed with a quick XGBoost retrain, an email recipient, and an SMTP port nothing
    listens on yet; `values` override or add fields."""
    from tests.support.ports import free_port

    base: dict[str, Any] = {
        "retrain_model": "xgboost",
        "retrain_params": "n_estimators=30",
        "report_recipients": "ops@example.com",
        "smtp_port": free_port(),
    }
    return four_team_settings(home, **{**base, **values})


@dataclass(frozen=True)
class TrainedStore:
    """A template store: its folder and the one trained run in it."""

    home: Path
    run_id: str
    model_uri: str
    experiment_id: str


def train_store(
    settings: Settings,
    feed: Feed,
    as_of: dt.date,
    *,
    phase: str = "production",
    params: Mapping[str, object] | None = None,
) -> TrainedStore:
    """Initialise the store of `settings` and log one tiny XGBoost run on `feed` (PTS) in the
    experiment of `phase`, dated `as_of`."""
    from nbaprops.tracking.setup import init_tracking, phase_by_key
    from nbaprops.training.pipeline import TrainSpec, train_and_log
    from nbaprops.training.prepare import prepare

    client = init_tracking(settings)
    experiment = client.get_experiment_by_name(phase_by_key(phase).experiment)
    assert experiment is not None
    data = prepare(feed, "PTS", "full")
    spec = TrainSpec(
        model_type="xgboost",
        params=dict(params or {"n_estimators": 30}),
        seed=7,
        n_jobs=2,
        phase=phase,
    )
    run = train_and_log(data, spec, experiment.experiment_id, as_of, client=client)
    return TrainedStore(settings.home, run.run_id, run.model_uri, experiment.experiment_id)


def put_in_production(settings: Settings, run_id: str, at: dt.datetime, reason: str) -> None:
    """Register `run_id` as version 1 of MODEL, stage it, force it into production, and create
    the job history table: the state a daemon that has run for a while leaves behind."""
    from governance.policy import parse_policy
    from governance.promotion import promote
    from governance.registry import register_run
    from jobs.daemon.history import JobHistory
    from nbaprops.statedb import state_engine
    from nbaprops.tracking.setup import init_tracking

    client = init_tracking(settings)
    engine = state_engine(settings)
    # registering resolves the logged model through MLflow's global store: point it here
    with global_tracking_uri(settings.resolved_tracking_uri):
        register_run(client, engine, run_id, at, "setup")
    policy = parse_policy(PERMISSIVE_POLICY)
    promote(client, engine, MODEL, "1", "staging", policy, at, "setup")
    promote(client, engine, MODEL, "1", "production", policy, at, "setup", force=True,
            reason=reason)  # fmt: skip
    JobHistory(engine).ensure_schema()
    engine.dispose()


@contextlib.contextmanager
def global_tracking_uri(uri: str) -> Iterator[None]:
    """MLFLOW_TRACKING_URI set to `uri` for the block and restored after, for the code that
    reaches MLflow's global store."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        yield


#: When the lived-in states were trained (on the games before it) and put in production.
LIVED_IN_AS_OF = dt.date(2025, 1, 6)
LIVED_IN_AT = dt.datetime(2025, 1, 13, 8, 0, tzinfo=dt.UTC)


def lived_in_store(settings: Settings, reason: str) -> TrainedStore:
    """A run trained on the feed of `settings` before LIVED_IN_AS_OF, in production since
    LIVED_IN_AT: the state the fault and reliability suites start every test from."""
    from jobs.loop.context import load_feed

    feed = load_feed(settings).known_before(LIVED_IN_AS_OF)
    store = train_store(settings, feed, LIVED_IN_AS_OF)
    put_in_production(settings, store.run_id, LIVED_IN_AT, reason)
    return store


def copy_store(template: Path, home: Path, names: Iterable[str] = STORE_FILES) -> Path:
    """Copy the template folder's store files into `home` (created) and return `home`."""
    home.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(template / name, home / name)
    return home
