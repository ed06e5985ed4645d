"""A season replayed on the default feed: does a day's cost grow with the store's history?

`jobs.loop.replay` drives the nightly jobs day by day (the candidate steps every
`--retrain-every` days), the same functions the daemon runs. Each job's time is taken between
the replay's per-job callbacks. The daily jobs (ingest: settle and score; drift_check) are
compared early (two weeks around `--early`) and late (the last two weeks) on the same work: a
day's cost depends on its slate (ingest scores and settles each game's players), so each
window's seconds are fitted against the rows handled and read at the same row count. The
store's size is printed at both points: runs, registered versions, job-history rows, bytes.
Goal: each daily job costs no more late than 1.2x early.

The season starts with a champion: one warm-up night on the day before `--start` (retrain,
backtest, promotion), its candidate forced to Production with a recorded reason when the
policy refuses it (early in a season the backtest window holds too few bets to pass), so every
measured day scores, settles and checks drift rather than finding no model to serve.

    python -m benchmarks.bench_season [--days 150] [--early 30] [--start 2024-11-01]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from benchmarks.goals import print_goal
from governance.lifecycle import Lifecycle
from governance.registry import PRODUCTION, STAGING
from jobs.loop.replay import replay
from jobs.wiring import App
from nbaprops.settings import Settings
from nbaprops.statedb import state_engine, upgrade
from nbaprops.tracking.setup import init_tracking

GOAL = 1.2
DAILY_JOBS = ("ingest", "drift_check")
#: two weeks: the schedule alternates heavy and light slates (13 games, then 2), so a short
#: window's median flipped between the two with its parity (0.27 s or 0.40 s for the same code)
WINDOW = 14


def work_of(job: dict[str, Any]) -> float:
    """Rows a daily job handled: the predictions ingest scored and settled, the settled
    predictions drift_check read."""
    summary = job.get("summary") or {}
    return float(summary.get("predicted", 0) or 0) + float(summary.get("settled", 0) or 0)


def typical_cost(seconds: list[float], work: list[float], at: float) -> float:
    """A window's cost of a day handling `at` rows: a least-squares line of seconds against
    rows handled, read at `at`, so two windows are compared on the same slate (the median
    when the work does not vary)."""
    x, y = np.asarray(work), np.asarray(seconds)
    if np.ptp(x) == 0:
        return float(np.median(y))
    slope, intercept = np.polyfit(x, y, 1)
    return float(intercept + slope * at)


def store_size(settings: Settings, home: Path) -> dict[str, int]:
    """Runs, registered model versions, job-history rows and bytes on disk under `home`."""
    client = init_tracking(settings)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = 0
    token = None
    while True:
        page = client.search_runs(experiments, max_results=1000, page_token=token)
        runs += len(page)
        token = page.token
        if not token:
            break
    versions = len(client.search_model_versions(max_results=10_000))
    engine = state_engine(settings)
    with engine.connect() as conn:
        history = int(conn.execute(sa.text("SELECT COUNT(*) FROM job_history")).scalar_one())
    engine.dispose()
    size = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
    return {"runs": runs, "versions": versions, "job_history": history, "bytes": size}


def seed_champion(settings: Settings, start: dt.date) -> str:
    """Production on the day before `start`: the warm-up night's promotion, or its candidate
    forced there (recorded in the audit trail with the reason) when the policy refused it."""
    for result in replay(settings, start - dt.timedelta(days=1), 1, 1):
        failed = [n for n, j in result.jobs.items() if j["status"] not in ("succeeded", "skipped")]
        if failed:
            raise SystemExit(f"warm-up night {result.day}: {', '.join(failed)} failed")
    app = App.from_settings(settings)
    lifecycle = Lifecycle(app.client, app.engine, app.model_name, app.clock(), "bench_season")
    production = lifecycle.view.by_alias(PRODUCTION)
    if production is not None:
        return f"version {production.version} promoted by the policy"
    staged = lifecycle.view.by_alias(STAGING)
    if staged is None:
        raise SystemExit("warm-up night staged no candidate: nothing to serve")
    lifecycle.promote(
        staged.version,
        "production",
        app.policy,
        force=True,
        reason="bench_season: a champion from the first day, so the daily jobs do their work",
    )
    return f"version {staged.version} forced (the policy refused it on the warm-up window)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=150)
    parser.add_argument("--early", type=int, default=30)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2024, 11, 1))
    parser.add_argument("--retrain-every", type=int, default=7)
    args = parser.parse_args()
    early_day = min(args.early, args.days - WINDOW)
    cost: dict[str, dict[int, float]] = defaultdict(dict)
    work: dict[str, dict[int, float]] = defaultdict(dict)
    sizes: dict[int, dict[str, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        settings = Settings(home=home, _env_file=None)  # type: ignore[call-arg]
        upgrade(state_engine(settings))
        init_tracking(settings)
        print(f"champion before {args.start}: {seed_champion(settings, args.start)}", flush=True)
        mark: list[tuple[str, float]] = []

        def on_job(day: dt.date, name: str) -> None:
            mark.append((name, time.perf_counter()))

        started = time.perf_counter()
        for index, result in enumerate(
            replay(settings, args.start, args.days, args.retrain_every, on_job), start=1
        ):
            ended = time.perf_counter()
            ends = [t for _, t in mark[1:]] + [ended]
            for (name, begun), end in zip(mark, ends, strict=True):
                cost[name][index] = end - begun
                work[name][index] = work_of(result.jobs[name])
            failed = [
                n for n, j in result.jobs.items() if j["status"] not in ("succeeded", "skipped")
            ]
            if failed:
                raise SystemExit(f"day {result.day}: {', '.join(failed)} failed")
            mark.clear()
            if index in (early_day, args.days):
                sizes[index] = store_size(settings, home)
            print(
                f"day {index:3d} {result.day}  "
                + "  ".join(
                    f"{n} {cost[n][index]:.2f}s{'(skipped)' if j['status'] == 'skipped' else ''}"
                    for n, j in result.jobs.items()
                ),
                flush=True,
            )
        print(f"replay: {args.days} days in {time.perf_counter() - started:.0f}s")
    for day, size in sizes.items():
        print(
            f"store on day {day}: {size['runs']:,} runs, {size['versions']} versions, "
            f"{size['job_history']:,} job-history rows, {size['bytes'] / 1e6:.1f} MB"
        )
    early_days = range(early_day - WINDOW // 2, early_day + WINDOW - WINDOW // 2)
    late_days = range(args.days - WINDOW + 1, args.days + 1)
    for name in DAILY_JOBS:
        windows = [[d for d in days if d in cost[name]] for days in (early_days, late_days)]
        at = float(np.median([work[name][d] for days in windows for d in days]))
        early, late = (
            typical_cost([cost[name][d] for d in days], [work[name][d] for d in days], at)
            for days in windows
        )
        print(
            f"{name:<12} day ~{early_day}: {early:.2f}s  day ~{args.days}: {late:.2f}s  "
            f"ratio {late / early:.2f}x ({WINDOW} days each, read at {at:.0f} rows a day)"
        )
        print_goal(f"season_daily_{name}_late_vs_early", late / early, GOAL)
    for name in ("nightly_retrain", "backtest"):
        runs = sorted(cost[name].items())
        if len(runs) >= 2:
            print(f"{name:<12} first {runs[0][1]:.1f}s (day {runs[0][0]})  "
                  f"last {runs[-1][1]:.1f}s (day {runs[-1][0]})")  # fmt: skip


if __name__ == "__main__":
    main()
