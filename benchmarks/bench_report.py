"""Weekly report speed: collect + render one week on a store with a long history.

Fills a fresh SQLite MLflow store with N runs of history over the weeks before the reported
one (about 100 a week, so a longer history is more weeks, as in real life), plus 200 runs in
the reported week (created through MlflowClient, like real ones, including a Production model
whose backtest logged bets.csv), then times `collect_weekly_report` + `render_report`.
Baselines measured in the same run: one bounded `search_runs` of the week, and one unfiltered
`search_runs` over the whole store (what a report without a time filter, or with a filter in
seconds, would cost). Goal: <= 1 s, flat as the history grows.

The smaller store holds 3,000 runs of history, 30 weeks: the whole season so far (the report's
season trend reads every week since July 1), as the larger one does. With 2,000 (20 weeks) the
season held fewer weeks in the smaller store, so the comparison measured the season's length
(28 weeks of runs against 20) rather than the store's history.

    python -m benchmarks.bench_report                 # history sizes 3,000 and 10,000
    python -m benchmarks.bench_report --history 10000 # one size

History runs are inserted in bulk through MLflow's own SQLAlchemy tables: creating them one
by one through the client costs about as much per run as the 200 of the week (printed), which
is minutes for 10,000. It is a benchmark fixture, not a way to log runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlRun, SqlTag
from mlflow.tracking import MlflowClient

from benchmarks.goals import print_goal
from jobs.report.collect import collect_weekly_report
from jobs.report.model import WeeklyReport, iso_week_bounds
from jobs.report.queries import DEFAULT_MODEL_NAME, WeekWindow, project_experiments
from jobs.report.render import render_report
from nbaprops.settings import Settings
from nbaprops.tracking.setup import MONITORING_EXPERIMENT, PHASES, init_tracking
from tests.support.runs import log_finished_run, ms

GOAL_SECONDS = 1.0
WEEK = "2025-W03"
NOW = dt.datetime(2025, 1, 20, 7, 0, tzinfo=dt.UTC)
HISTORY_RUNS_PER_WEEK = 100  # a longer history means more weeks, not busier ones
MODEL_TYPES = ("xgboost", "lightgbm", "ensemble", "rolling_avg")


def _week_start() -> dt.datetime:
    monday, _ = iso_week_bounds(WEEK)
    return dt.datetime.combine(monday, dt.time(0), tzinfo=dt.UTC)


def _metrics(rng: random.Random, backtest: bool) -> dict[str, float]:
    if backtest:
        return {
            "wf_roi": rng.gauss(0.01, 0.03),
            "wf_win_rate": rng.gauss(0.53, 0.02),
            "bet_count": float(rng.randint(300, 1500)),
            "calibration_error": abs(rng.gauss(0.03, 0.01)),
            "brier_score": rng.uniform(0.245, 0.25),
            "sharpe_ratio": rng.gauss(0.5, 0.5),
        }
    return {
        "val_mae": rng.uniform(4.4, 5.3),
        "training_time": rng.uniform(5, 120),
        "calibration_error": abs(rng.gauss(0.03, 0.01)),
        "brier_score": rng.uniform(0.245, 0.25),
        "mae_vs_baseline": rng.uniform(0.9, 1.02),
    }


def insert_history(uri: str, experiment_ids: list[str], n_runs: int, seed: int = 7) -> float:
    """Bulk-insert `n_runs` finished runs over the weeks before WEEK, about
    HISTORY_RUNS_PER_WEEK a week, and return the seconds it took."""
    started = time.perf_counter()
    rng = random.Random(seed)
    weeks = max(1, round(n_runs / HISTORY_RUNS_PER_WEEK))
    end = ms(_week_start()) - 1
    begin = end - weeks * 7 * 24 * 3600 * 1000
    runs: list[dict[str, object]] = []
    tags: list[dict[str, str]] = []
    metrics: list[dict[str, object]] = []
    parents: list[str] = []
    for i in range(n_runs):
        run_id = uuid.uuid4().hex
        experiment_id = rng.choice(experiment_ids)
        start = rng.randint(begin, end)
        backtest = i % 5 == 4
        runs.append(
            {
                "run_uuid": run_id,
                "name": f"hist-{i:05d}",
                "source_type": "LOCAL",
                "source_name": "bench",
                "entry_point_name": "",
                "user_id": "bench",
                "status": "FINISHED",
                "start_time": start,
                "end_time": start + 60_000,
                "source_version": "",
                "lifecycle_stage": "active",
                "artifact_uri": f"file:///dev/null/{run_id}",
                "experiment_id": int(experiment_id),
            }
        )
        run_tags = {
            "mlflow.runName": f"hist-{i:05d}",
            "model_type": rng.choice(MODEL_TYPES),
            "project": "nba_props",
        }
        if backtest:
            run_tags["backtest"] = "walk_forward"
        if parents and i % 10 == 3:
            run_tags["mlflow.parentRunId"] = rng.choice(parents)
        else:
            parents.append(run_id)
        tags.extend({"key": k, "value": v, "run_uuid": run_id} for k, v in run_tags.items())
        for key, value in _metrics(rng, backtest).items():
            row = {"key": key, "value": value, "timestamp": start, "step": 0, "is_nan": False}
            metrics.append({**row, "run_uuid": run_id})
    engine = sa.create_engine(uri)
    with engine.begin() as conn:
        conn.execute(sa.insert(SqlRun.__table__), runs)
        conn.execute(sa.insert(SqlTag.__table__), tags)
        conn.execute(sa.insert(SqlMetric.__table__), metrics)
        conn.execute(sa.insert(SqlLatestMetric.__table__), metrics)
    engine.dispose()
    return time.perf_counter() - started


def _bets(rng: random.Random, n: int) -> pd.DataFrame:
    days = pd.date_range("2024-11-01", periods=60, freq="D")
    p = [rng.uniform(0.52, 0.66) for _ in range(n)]
    won = [rng.random() < q - 0.02 for q in p]
    return pd.DataFrame(
        {
            "game_date": sorted(rng.choice(days).date().isoformat() for _ in range(n)),
            "side": [rng.choice(("over", "under")) for _ in range(n)],
            "p_model": p,
            "result": ["win" if w else "loss" for w in won],
            "profit_flat": [9.09 if w else -10.0 for w in won],
            "stake_flat": [10.0] * n,
        }
    )


def create_this_week(
    client: MlflowClient, phase_ids: list[str], monitoring_id: str, n_runs: int, folder: Path
) -> float:
    """Create `n_runs` runs in WEEK through the client, with a Production model; return s/run."""
    rng = random.Random(11)
    monday = _week_start()
    started = time.perf_counter()
    first_training = ""
    for i in range(n_runs):
        start = monday + dt.timedelta(seconds=rng.randint(0, 7 * 24 * 3600 - 1))
        kind = i % 20
        if kind < 2:
            tags = {"check": "drift", "breached": "true" if kind == 0 and i % 40 == 0 else "false"}
            metrics = {"psi_max": rng.uniform(0.01, 0.3), "live_mae_ratio": rng.uniform(0.95, 1.1)}
            log_finished_run(client, monitoring_id, f"drift-{i}", start, metrics, tags)
            continue
        backtest = kind in (2, 3)
        tags = {"model_type": rng.choice(MODEL_TYPES), "project": "nba_props"}
        if backtest:
            tags["backtest"] = "walk_forward"
        run_id = log_finished_run(
            client, rng.choice(phase_ids), f"week-{i}", start, _metrics(rng, backtest), tags
        )
        first_training = first_training or ("" if backtest else run_id)
    per_run = (time.perf_counter() - started) / n_runs
    client.create_registered_model(DEFAULT_MODEL_NAME)
    source = f"{client.get_run(first_training).info.artifact_uri}/model"
    client.create_model_version(
        DEFAULT_MODEL_NAME, source, run_id=first_training, tags={"semver": "v1.0.0"}
    )
    client.set_registered_model_alias(DEFAULT_MODEL_NAME, "production", "1")
    backtest_id = log_finished_run(
        client,
        phase_ids[-1],
        "production-backtest",
        monday + dt.timedelta(days=2),
        _metrics(rng, True),
        {"model_type": "xgboost", "backtest": "walk_forward", "model_version": "1"},
    )
    bets = folder / "bets.csv"
    _bets(rng, 1200).to_csv(bets, index=False)
    client.log_artifact(backtest_id, str(bets))
    return per_run


@dataclass(frozen=True)
class Timing:
    """Best and median seconds of repeated calls; the best is the least disturbed by other
    work on a shared machine, so comparisons use it."""

    best: float
    median: float

    @classmethod
    def of(cls, times: list[float]) -> Timing:
        return cls(min(times), statistics.median(times))

    def __str__(self) -> str:
        return f"{self.best:.3f} s (median {self.median:.3f})"


def _seconds(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


@dataclass
class BenchStore:
    """A filled store of one history size, and the figures measured on it."""

    history: int
    this_week: int
    folder: Path
    client: MlflowClient
    experiment_ids: list[str]
    fill_seconds: float
    client_seconds_per_run: float
    report: WeeklyReport
    times: dict[str, list[float]] = field(default_factory=dict)
    unfiltered_search: float | None = None
    store_runs: int = 0

    def timing(self, name: str) -> Timing:
        return Timing.of(self.times[name])

    @property
    def total(self) -> float:
        """Best collect + best render, in seconds."""
        return self.timing("collect").best + self.timing("render").best


def build_store(history: int, this_week: int) -> BenchStore:
    """A fresh store in a folder of its own with `history` + `this_week` runs."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench-report-{history}-"))
    home = folder / "state"
    # The URI is explicit, so an MLFLOW_TRACKING_URI in the environment cannot redirect the bench.
    settings = Settings(
        home=home,
        tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
        _env_file=None,  # type: ignore[call-arg]
    )
    client = init_tracking(settings)
    experiments = project_experiments(client)
    monitoring = client.get_experiment_by_name(MONITORING_EXPERIMENT)
    assert monitoring is not None
    assert len(experiments.phase_ids) == len(PHASES)
    fill = insert_history(settings.resolved_tracking_uri, experiments.all_ids, history)
    per_run = create_this_week(
        client, experiments.phase_ids, monitoring.experiment_id, this_week, folder
    )
    report = collect_weekly_report(client, None, WEEK, NOW)  # also warms caches
    assert report.total_runs > 0 and report.production is not None
    return BenchStore(
        history, this_week, folder, client, experiments.all_ids, fill, per_run, report
    )


def time_stores(stores: list[BenchStore], repeats: int, unfiltered: bool) -> None:
    """Time every store round-robin, so a busy spell of the machine hits all sizes alike."""
    window = WeekWindow.of(WEEK)
    for _ in range(repeats):
        for store in stores:
            client = store.client
            steps: dict[str, Callable[[], object]] = {
                "collect": partial(collect_weekly_report, client, None, WEEK, NOW),
                "render": partial(render_report, store.report),
                "bounded": partial(
                    client.search_runs, store.experiment_ids, window.run_filter, max_results=1000
                ),
            }
            for name, step in steps.items():
                store.times.setdefault(name, []).append(_seconds(step))
    for store in stores:
        store.store_runs = store.history + store.this_week + 1
        if unfiltered:
            started = time.perf_counter()
            found = store.client.search_runs(store.experiment_ids, "", max_results=50_000)
            store.unfiltered_search = time.perf_counter() - started
            store.store_runs = len(found)


def print_store(m: BenchStore) -> None:
    unfiltered = "-" if m.unfiltered_search is None else f"{m.unfiltered_search:.2f} s"
    print(
        f"history {m.history:>6,} + week {m.this_week} runs (store {m.store_runs:,}): "
        f"collect + render = {m.total:.3f} s "
        f"(goal <= {GOAL_SECONDS:.1f} s: {'ok' if m.total <= GOAL_SECONDS else 'MISSED'})"
    )
    print(f"    collect {m.timing('collect')}; render {m.timing('render')}")
    print(
        f"    baseline: one bounded week search {m.timing('bounded')} "
        f"(report = {m.total / m.timing('bounded').best:.1f}x it); "
        f"unfiltered search over the store {unfiltered}"
    )
    print(
        f"    fixture: history bulk-inserted in {m.fill_seconds:.2f} s; week runs through "
        f"MlflowClient at {m.client_seconds_per_run * 1000:.0f} ms/run "
        f"(~{m.client_seconds_per_run * m.history:.0f} s for the history that way)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=int, default=None, help="One history size only.")
    parser.add_argument("--sizes", default="3000,10000", help="History sizes to compare.")
    parser.add_argument("--this-week", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--no-unfiltered", action="store_true", help="Skip the unfiltered search baseline."
    )
    args = parser.parse_args()
    sizes = [args.history] if args.history else [int(s) for s in args.sizes.split(",")]
    stores = [build_store(size, args.this_week) for size in sizes]
    try:
        time_stores(stores, args.repeats, not args.no_unfiltered)
    finally:
        for store in stores:
            shutil.rmtree(store.folder, ignore_errors=True)
    for store in stores:
        print_store(store)
        print_goal(f"report_seconds_history_{store.history}", store.total, GOAL_SECONDS)
    if len(stores) > 1:
        first, last = stores[0], stores[-1]
        collect_ratio = last.timing("collect").best / first.timing("collect").best
        print(
            f"flatness: {last.history:,} vs {first.history:,} runs of history: collect "
            f"{collect_ratio:.2f}x, collect+render {last.total / first.total:.2f}x"
        )
        print_goal("report_flat_in_history", last.total / first.total, 1.2)


if __name__ == "__main__":
    main()
