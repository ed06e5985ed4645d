"""The candidate pipeline of the loop: retrain -> register -> stage -> backtest -> evaluate.

Each step is idempotent for its day and leaves the registry consistent: governance records
every move (version tags + audit row) in the same step.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from governance.lifecycle import Lifecycle
from governance.registry import PRODUCTION, STAGING, VersionInfo
from jobs.daemon.types import JobResult
from jobs.loop.context import JobContext
from nbaprops.backtest.tracked import run_tracked_backtest, window_label
from nbaprops.backtest.walkforward import BacktestSpec
from nbaprops.tracking.compare import SOURCE_RUN_TAG
from nbaprops.tracking.setup import phase_by_key
from nbaprops.training.pipeline import TrainSpec, train_and_log
from nbaprops.training.recipe import recipe_of_run

PRODUCTION_PHASE = phase_by_key("production")


def _lifecycle(ctx: JobContext) -> Lifecycle:
    """The registry lifecycle of this job run (its reads cached for the run)."""
    return Lifecycle(ctx.client, ctx.engine, ctx.model_name, ctx.now, ctx.actor)


def basic_checks(metrics: dict[str, float]) -> list[str]:
    """Why a fresh candidate should not even be staged (empty: stage it)."""
    problems = []
    val_mae = metrics.get("val_mae", float("nan"))
    if not math.isfinite(val_mae):
        problems.append("val_mae is not a finite number")
    ratio = metrics.get("mae_vs_baseline", float("nan"))
    if not (math.isfinite(ratio) and ratio < 1.0):
        problems.append(f"does not beat the rolling-average baseline (ratio {ratio:.3f})")
    return problems


def retrain(ctx: JobContext) -> JobResult:
    """Train a candidate on everything known before the run date, register it, stage it.
    A candidate that fails the basic checks is registered but not staged: the job succeeded."""
    settings = ctx.settings
    data = ctx.known_features(settings.target, settings.retrain_feature_set)
    spec = TrainSpec(
        model_type=settings.retrain_model,
        feature_set=settings.retrain_feature_set,
        params=settings.retrain_overrides,
        phase=PRODUCTION_PHASE.key,
        seed=settings.seed,
        n_jobs=settings.workers,
        executor=settings.executor,
        dask_address=settings.dask_scheduler,
        importance_plots=settings.importance_plots,
    )
    result = train_and_log(
        data,
        spec,
        ctx.experiment_id(PRODUCTION_PHASE.experiment),
        ctx.run_for,
        started_at=ctx.replayed_start,
        client=ctx.client,
    )
    lifecycle = _lifecycle(ctx)
    info = lifecycle.register(result.run_id)
    problems = basic_checks(result.metrics)
    summary: dict[str, Any] = {
        "run_id": result.run_id,
        "version": info.version,
        "semver": info.semver,
        "val_mae": result.metrics.get("val_mae"),
        "mae_vs_baseline": result.metrics.get("mae_vs_baseline"),
    }
    if problems:
        summary["staged"] = False
        summary["why_not"] = problems
        return JobResult.succeeded(summary)
    lifecycle.stage(info.version, reason="nightly candidate passed the basic checks")
    summary["staged"] = True
    return JobResult.succeeded(summary)


@dataclass(frozen=True)
class Backtested:
    """A logged backtest: its run, its test window and the digest of the data it saw."""

    run_id: str
    window: str
    data_digest: str


def _backtest_version(ctx: JobContext, version: VersionInfo, start: pd.Timestamp) -> Backtested:
    """Walk-forward backtest of a version's recipe from `start` to the run date, on the run's
    shared features of that recipe (ctx.known_features)."""
    recipe = recipe_of_run(ctx.client, version.run_id)
    settings = ctx.settings
    data = ctx.known_features(recipe.target, recipe.feature_set)
    spec = BacktestSpec(
        model_type=recipe.model_type,
        params=recipe.params,
        calibration=recipe.calibration,
        start=start,
        refit_days=settings.refit_days,
        seed=settings.seed,
        workers=settings.workers,
        executor=settings.executor,
        dask_address=settings.dask_scheduler,
    )
    tracked = run_tracked_backtest(
        data,
        spec,
        ctx.experiment_id(PRODUCTION_PHASE.experiment),
        ctx.run_for,
        feature_set=recipe.feature_set,
        extra_tags={
            "model_version": version.version,
            "registered_model": ctx.model_name,
            SOURCE_RUN_TAG: version.run_id,  # `compare` shows the run's walk-forward figures
        },
        started_at=ctx.replayed_start,
        client=ctx.client,
    )
    return Backtested(tracked.run_id, window_label(tracked.result), data.feed_digest)


def backtest_candidate(ctx: JobContext) -> JobResult:
    """Backtest the staged candidate, and the champion on the same window when it lacks one."""
    lifecycle = _lifecycle(ctx)
    staging = lifecycle.view.by_alias(STAGING)
    if staging is None:
        return JobResult.skipped("no staged candidate")
    if lifecycle.evidence.backtest_of(staging) is not None:
        return JobResult.skipped(f"version {staging.version} already has a backtest")
    start = pd.Timestamp(ctx.run_for - dt.timedelta(days=ctx.settings.backtest_days))
    candidate = _backtest_version(ctx, staging, start)
    window = candidate.window
    summary: dict[str, Any] = {
        "version": staging.version,
        "run_id": candidate.run_id,
        "window": window,
    }
    champion = lifecycle.view.by_alias(PRODUCTION)
    data_pin = {"data_digest": candidate.data_digest}
    if (
        champion is not None
        and lifecycle.evidence.backtest(
            champion.version, window, {**lifecycle.evidence.pins(champion), **data_pin}
        )
        is None
    ):
        champion_run = _backtest_version(ctx, champion, start).run_id
        summary["champion"] = {"version": champion.version, "run_id": champion_run}
    return JobResult.succeeded(summary)


def evaluate_candidate(ctx: JobContext) -> JobResult:
    """Decide on the staged, backtested candidate and act on the verdict (recorded)."""
    lifecycle = _lifecycle(ctx)
    staging = lifecycle.view.by_alias(STAGING)
    if staging is None:
        return JobResult.skipped("no staged candidate")
    if lifecycle.evidence.backtest_of(staging) is None:
        return JobResult.skipped(f"version {staging.version} waits for its backtest")
    result = lifecycle.promote_if_qualified(staging.version, ctx.policy)
    return JobResult.succeeded(result.to_dict())
