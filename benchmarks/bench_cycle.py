"""One full nightly cycle on the full four-season default feed, step by step, as the daemon runs it.

A fresh store gets its first champion from one warm-up night (retrain, backtest, promotion).
The measured night then runs every step of the nightly pipeline through the job runner (each
recorded in the job history, under its lock): fetch, ingest (settle yesterday, score today),
nightly_retrain, backtest (candidate and champion), evaluate_promotion, drift_check and
weekly_report. The fetch step runs the real clients against a replay HTTP server on 127.0.0.1
serving the recorded NBA-stats and odds responses into a folder of its own (the model steps
read the generated feed; the recorded days are a few, the generated season is whole).

The sum of bare fits is what the night's runs logged as pure fit time: the candidate's
`training_time` and every backtest fold's `fit_seconds`. Goals: the whole night <= 1.5x that
sum; the process's peak memory (children included) <= 2 GB.

    python -m benchmarks.bench_cycle [--day 2025-01-20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from mlflow.entities import Run

from benchmarks.goals import print_goal
from jobs.daemon.catalogue import NIGHTLY_PIPELINE, lookup
from jobs.daemon.runner import JobRunner
from jobs.daemon.schedule_settings import SchedulerSettings
from nbaprops.settings import Settings
from nbaprops.statedb import state_engine, upgrade
from nbaprops.tracking.setup import init_tracking
from tests.support.http_replay import ReplayServer

RATIO_GOAL = 1.5
MEMORY_GOAL = 2 * 1024**3
FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures" / "fetch"
#: the last day the recorded responses cover (box scores of the day before, lines of the day)
FETCH_DAY = dt.date(2025, 1, 18)
CANDIDATE_STEPS = ("nightly_retrain", "backtest", "evaluate_promotion")


def peak_rss_bytes() -> int:
    """Peak resident memory of this process and of its largest finished child (Linux: KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) * 1024


def run_job(runner: JobRunner, name: str, day: dt.date, settings: Settings | None = None) -> float:
    """Seconds for one job run by the runner in this process (as the replay does)."""
    spec = replace(lookup(name), heavy=False)
    job_runner = (
        runner if settings is None else JobRunner(settings, SchedulerSettings(), runner.engine)
    )
    started = time.perf_counter()
    outcome = job_runner.run(spec, day, trigger="simulate", wait=True)
    seconds = time.perf_counter() - started
    if outcome.status not in ("succeeded", "skipped"):
        raise SystemExit(f"{name} on {day} {outcome.status}: {outcome.error}")
    return seconds


def all_runs(settings: Settings) -> list[Run]:
    """Every run of every experiment in the store (replayed runs carry the simulated start)."""
    client = init_tracking(settings)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs: list[Run] = []
    token = None
    while True:
        page = client.search_runs(experiments, max_results=1000, page_token=token)
        runs += page
        token = page.token
        if not token:
            return runs


def bare_fit_seconds(runs: list[Run]) -> float:
    """The pure fit time runs logged: a training run's training_time, a fold's fit_seconds."""
    total = 0.0
    for run in runs:
        metrics = run.data.metrics
        if "fit_seconds" in metrics:
            total += metrics["fit_seconds"]
        elif "training_time" in metrics and "mlflow.parentRunId" not in run.data.tags:
            total += metrics["training_time"]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--day", type=dt.date.fromisoformat, default=dt.date(2025, 1, 20))
    args = parser.parse_args()
    night: dt.date = args.day
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        settings = Settings(home=home, _env_file=None)  # type: ignore[call-arg]
        engine = state_engine(settings)
        upgrade(engine)
        init_tracking(settings)
        runner = JobRunner(settings, SchedulerSettings(), engine)
        runner.history.ensure_schema()
        warm = night - dt.timedelta(days=1)
        started = time.perf_counter()
        for name in ("ingest", *CANDIDATE_STEPS):
            run_job(runner, name, warm)
        print(f"warm-up night {warm} (first champion): {time.perf_counter() - started:.1f}s")

        before = {run.info.run_id for run in all_runs(settings)}
        steps: dict[str, float] = {}
        with ReplayServer(FIXTURES / "nba_stats.json", FIXTURES / "odds_api.json") as server:
            fetch_settings = Settings(  # type: ignore[call-arg]
                home=home,
                data=str(Path(tmp) / "fetched"),
                fetch_sources="nba,odds",
                nba_stats_url=f"{server.url}/stats",
                odds_api_url=server.url,
                odds_api_key="bench-key",
                fetch_min_interval=0,
                _env_file=None,
            )
            steps["fetch"] = run_job(runner, "fetch", FETCH_DAY, fetch_settings)
        for step in NIGHTLY_PIPELINE:
            if step.external:
                continue
            steps[step.job] = run_job(runner, step.job, night)
        whole = sum(steps.values())
        night_runs = [r for r in all_runs(settings) if r.info.run_id not in before]
        fits = bare_fit_seconds(night_runs)
        kinds = sorted({r.data.tags.get("mlflow.runName", "?").split("_")[0] for r in night_runs})
        engine.dispose()
    for name, seconds in steps.items():
        print(f"  {name:<19} {seconds:7.2f}s")
    peak = peak_rss_bytes()
    print(f"  {'whole night':<19} {whole:7.2f}s")
    print(f"the night logged {len(night_runs)} runs ({', '.join(kinds)})")
    print(f"sum of the night's bare fits: {fits:.2f}s; ratio {whole / fits:.2f}x")
    print(f"peak memory: {peak / 1024**3:.2f} GB")
    print_goal("cycle_vs_bare_fits", whole / fits, RATIO_GOAL)
    print_goal("cycle_peak_memory_gb", peak / 1024**3, MEMORY_GOAL / 1024**3)


if __name__ == "__main__":
    main()
