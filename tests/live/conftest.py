"""Fixtures of the live-loop tests: a tiny synthetic season written as a folder, a
Production model trained on the weeks before the tested days, and the `nbaprops` command
run with a test's settings (a real MLflow SQLite store and state database in tmp_path)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from nbaprops.data.feed import Feed
from nbaprops.settings import Settings

MODEL = "NBAPropsModel"
SEASONS = "2023-24,2024-25"
TRAIN_BEFORE = dt.date(2025, 1, 6)
T0 = dt.datetime(2025, 1, 6, 8, 0, tzinfo=dt.UTC)


def live_settings(home: Path, data: Path | str, **values: Any) -> Settings:
    """A tiny feed (4 teams, 2 seasons) read from `data`; nothing else configured."""
    base: dict[str, Any] = {"home": home, "data": str(data), "teams": 4, "seasons": SEASONS,
                            "seed": 7, "workers": 2}  # fmt: skip
    base.update(values)
    return Settings(_env_file=None, **base)  # type: ignore[call-arg]


@dataclass(frozen=True)
class Lab:
    """The session's full synthetic folder and a state folder with version 1 in production."""

    feed: Feed
    full: Path
    home: Path


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    """Write the 4-team feed, train a small model on it before TRAIN_BEFORE, promote it."""
    from governance.policy import parse_policy
    from governance.promotion import promote
    from governance.registry import register_run
    from jobs.daemon.history import JobHistory
    from nbaprops.data.synthetic import SyntheticSource
    from nbaprops.data.writer import write_feed
    from nbaprops.statedb import state_engine
    from nbaprops.tracking.setup import init_tracking, phase_by_key
    from nbaprops.training.pipeline import TrainSpec, train_and_log
    from nbaprops.training.prepare import prepare

    root = tmp_path_factory.mktemp("live")
    feed = SyntheticSource(seed=7, teams=4, seasons=SEASONS).load()
    write_feed(feed, root / "full")
    settings = live_settings(root / "state", root / "full")
    client = init_tracking(settings)
    experiment = client.get_experiment_by_name(phase_by_key("production").experiment)
    assert experiment is not None
    data = prepare(feed.known_before(TRAIN_BEFORE), "PTS", "full")
    spec = TrainSpec(model_type="xgboost", params={"n_estimators": 30}, seed=7, n_jobs=2,
                     phase="production")  # fmt: skip
    run = train_and_log(data, spec, experiment.experiment_id, TRAIN_BEFORE, client=client)
    engine = state_engine(settings)
    # the registry resolves a logged model through MLflow's global store: point it here
    before = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = settings.resolved_tracking_uri
    try:
        register_run(client, engine, run.run_id, T0, "setup")
    finally:
        if before is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = before
    policy = parse_policy(
        'version = 1\nsample_size_metric = "n_val_props"\n[[criteria]]\nmetric = "val_mae"\n'
        'op = "<"\nthreshold = 100\n'
    )
    promote(client, engine, MODEL, "1", "staging", policy, T0, "setup")
    promote(client, engine, MODEL, "1", "production", policy, T0, "setup", force=True,
            reason="the live tests' Production model")  # fmt: skip
    JobHistory(engine).ensure_schema()
    engine.dispose()
    return Lab(feed, root / "full", root / "state")


def fresh_home(lab: Lab, home: Path) -> Path:
    """A copy of the lab's store and state database for one test."""
    home.mkdir(parents=True)
    for name in ("mlflow.db", "state.db"):
        shutil.copyfile(lab.home / name, home / name)
    return home


def run_cli(settings: Settings, *args: str) -> Result:
    """`nbaprops ARGS` in this process with exactly `settings` in the environment."""
    from jobs.cli.main import cli
    from jobs.daemon.child import child_environment
    from jobs.daemon.recovery import RUN_CONTEXT_VARIABLE

    base = {k: v for k, v in os.environ.items() if not k.startswith("NBAPROPS_")}
    env = child_environment(settings, base, {})
    env.pop(RUN_CONTEXT_VARIABLE, None)
    env = {k: v for k, v in env.items() if k.startswith(("NBAPROPS_", "MLFLOW"))}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
