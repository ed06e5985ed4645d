"""One job run builds each feature frame once: the night's jobs, run as the daemon runs them
(the job functions of jobs.loop.tasks) on the small synthetic feed, each build their features
at most once, and the candidate's and the champion's backtest on the same features share one
build.

Builds are counted where every feature frame is made (nbaprops.training.prepare calls
build_features), so a step that built its own frame past the job's context would be counted.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import nbaprops.training.prepare as prepare_module
from jobs.daemon.types import JobFunction, JobResult
from jobs.loop import tasks
from nbaprops.settings import Settings

from .conftest import Lab, fresh_home, live_settings

DAY = dt.date(2025, 1, 20)


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[str, str]]:
    """Every feature build from now on, counted by (target, feature set); the real build runs."""
    counted: Counter[tuple[str, str]] = Counter()
    real: Callable[..., Any] = prepare_module.build_features

    def counting(games: Any, target: str, feature_set: str = "full") -> Any:
        counted[(target, feature_set)] += 1
        return real(games, target=target, feature_set=feature_set)

    monkeypatch.setattr(prepare_module, "build_features", counting)
    return counted


@pytest.fixture
def night(lab: Lab, tmp_path: Path) -> Settings:
    """The lab's store (version 1, xgboost on the full features, in Production); the nightly
    candidate learns from the same features (PTS, full), so its backtest and the champion's
    need one and the same frame."""
    return live_settings(fresh_home(lab, tmp_path / "state"), lab.full,
                             retrain_model="xgboost",
                             retrain_params="n_estimators=150,learning_rate=0.05,max_depth=3",
                             backtest_days=21, refit_days=14)  # fmt: skip


def run_job(
    job: JobFunction, settings: Settings, builds: Counter[tuple[str, str]]
) -> tuple[JobResult, Counter[tuple[str, str]]]:
    """Run one job for DAY; its result and the feature builds it made."""
    before = Counter(builds)
    result = job(settings, DAY)
    return result, builds - before


def test_each_job_of_a_night_builds_its_features_once(
    night: Settings, builds: Counter[tuple[str, str]]
) -> None:
    once = Counter({("PTS", "full"): 1})

    retrained, made = run_job(tasks.nightly_retrain, night, builds)
    assert retrained.status == "succeeded" and retrained.summary["staged"], retrained
    assert made == once

    backtested, made = run_job(tasks.backtest, night, builds)
    assert backtested.status == "succeeded", backtested
    candidate, champion = backtested.summary, backtested.summary["champion"]
    assert (candidate["version"], champion["version"]) == (retrained.summary["version"], "1")
    assert candidate["run_id"] != champion["run_id"]
    assert made == once  # two backtests of one recipe, one build

    evaluated, made = run_job(tasks.evaluate_promotion, night, builds)
    assert evaluated.status == "succeeded", evaluated
    assert made == Counter()  # deciding reads the logged evidence, it builds nothing

    watched, made = run_job(tasks.drift_check, night, builds)
    assert watched.status == "succeeded", watched
    assert made == once

    scored, made = run_job(tasks.ingest, night, builds)
    assert scored.status == "succeeded" and scored.summary["predicted"] > 0, scored
    assert made == once


def test_the_backtest_window_is_the_one_logged_on_the_run(
    night: Settings, builds: Counter[tuple[str, str]]
) -> None:
    from mlflow.tracking import MlflowClient

    assert tasks.nightly_retrain(night, DAY).summary["staged"]
    backtested = tasks.backtest(night, DAY)
    client = MlflowClient(night.resolved_tracking_uri)
    run = client.get_run(backtested.summary["run_id"])
    assert backtested.summary["window"] == run.data.tags["backtest_window"]
    start, end = backtested.summary["window"].split("..")
    assert dt.date.fromisoformat(start) >= DAY - dt.timedelta(days=21)
    assert dt.date.fromisoformat(end) <= DAY + dt.timedelta(days=1)
    assert sum(builds.values()) == 2  # the retrain's run, then the backtest's
