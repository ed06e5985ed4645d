"""Fixtures of the live-loop tests: a tiny synthetic season written as a folder, a
Production model trained on the weeks before the tested days, and the `nbaprops` command
run with a test's settings (a real MLflow SQLite store and state database in tmp_path)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from nbaprops.data.feed import Feed
from nbaprops.settings import Settings
from tests.support.stores import (
    MODEL,
    copy_store,
    four_team_settings,
    put_in_production,
    train_store,
)

#: What the test modules import from here.
__all__ = ["MODEL", "T0", "Lab", "fresh_home", "live_settings", "run_cli"]

SEASONS = "2023-24,2024-25"
TRAIN_BEFORE = dt.date(2025, 1, 6)
T0 = dt.datetime(2025, 1, 6, 8, 0, tzinfo=dt.UTC)


def live_settings(home: Path, data: Path | str, **values: Any) -> Settings:
    """A tiny feed (4 teams, 2 seasons) read from `data`; nothing else configured."""
    return four_team_settings(home, data=str(data), **values)


@dataclass(frozen=True)
class Lab:
    """The session's full synthetic folder and a state folder with version 1 in production."""

    feed: Feed
    full: Path
    home: Path


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    """Write the 4-team feed, train a small model on it before TRAIN_BEFORE, promote it."""
    from nbaprops.data.synthetic import SyntheticSource
    from nbaprops.data.writer import write_feed

    root = tmp_path_factory.mktemp("live")
    feed = SyntheticSource(seed=7, teams=4, seasons=SEASONS).load()
    write_feed(feed, root / "full")
    settings = live_settings(root / "state", root / "full")
    store = train_store(settings, feed.known_before(TRAIN_BEFORE), TRAIN_BEFORE)
    put_in_production(settings, store.run_id, T0, "the live tests' Production model")
    return Lab(feed, root / "full", root / "state")


def fresh_home(lab: Lab, home: Path) -> Path:
    """A copy of the lab's store and state database for one test."""
    return copy_store(lab.home, home)


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
