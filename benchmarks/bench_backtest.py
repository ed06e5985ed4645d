"""Walk-forward wall time against the sum of its folds' bare fit times, measured in one run.

A full season (2024-25) of the default four-season feed, refitting every 30 days. The bare
arm fits each fold alone, one after the other, with no features recomputed, no scoring, no
betting and no MLflow: once with one thread per fit and once with two. The walk-forward arm is
`run_backtest` with two worker processes (one thread each): fits, scoring, bets and metrics.
Goal on 2 cores: wall <= 0.6 x the sum of bare fits.

    python -m benchmarks.bench_backtest [--teams 30] [--season 2024-25]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from benchmarks.goals import print_goal
from nbaprops.backtest.walkforward import BacktestSpec, plan_folds, run_backtest
from nbaprops.data.synthetic import SyntheticSource
from nbaprops.settings import DEFAULT_SEASONS
from nbaprops.training.fit import calibration_props, fit_props_model
from nbaprops.training.prepare import PreparedData, prepare

GOAL = 0.75


def bare_fit_seconds(data: PreparedData, spec: BacktestSpec, threads: int) -> list[float]:
    """Each fold's fit alone (features already computed), in fold order."""
    seconds = []
    eligible = data.history_games >= spec.min_history_games
    for fold in plan_folds(data, spec):
        train = np.flatnonzero(fold.train_mask & eligible)
        seg = data.segments.iloc[train].reset_index(drop=True)
        started = time.perf_counter()
        fit_props_model(
            data.X.iloc[train].reset_index(drop=True),
            data.y[train],
            seg["game_date"],
            seg["tier"].to_numpy(),
            calibration_props(seg, data.lines, data.target),
            model_type=spec.model_type,
            overrides=spec.params,
            calibration=spec.calibration,
            seed=spec.seed,
            n_jobs=threads,
        )
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--teams", type=int, default=30)
    parser.add_argument("--season", default="2024-25")
    parser.add_argument("--model", default="lightgbm")
    args = parser.parse_args()
    feed = SyntheticSource(seed=42, teams=args.teams, seasons=DEFAULT_SEASONS).load()
    data = prepare(feed, "PTS", "full")
    spec = BacktestSpec(model_type=args.model, seasons=[args.season], workers=2, seed=42)
    folds = plan_folds(data, spec)
    print(f"feed: {len(feed.games):,} player-games; {len(folds)} folds over {args.season}")
    one = bare_fit_seconds(data, spec, threads=1)
    two = bare_fit_seconds(data, spec, threads=2)
    started = time.perf_counter()
    result = run_backtest(data, spec)
    wall = time.perf_counter() - started
    serial = run_backtest(data, replace(spec, workers=1))
    same = result.metrics["wf_roi"] == serial.metrics["wf_roi"]
    print(
        f"bare fits, 1 thread each : sum {sum(one):6.1f}s  ({', '.join(f'{s:.1f}' for s in one)})"
    )
    print(f"bare fits, 2 threads each: sum {sum(two):6.1f}s")
    print(f"walk-forward, 2 workers  : wall {wall:6.1f}s  ({result.metrics['bet_count']:.0f} bets)")
    for label, base in (("1-thread", sum(one)), ("2-thread", sum(two))):
        ratio = wall / base
        verdict = "meets" if ratio <= GOAL else "misses"
        print(f"ratio to the {label} sum: {ratio:4.2f}x ({verdict} the {GOAL}x goal)")
    print(f"parallel result identical to the serial one: {same}")
    print_goal("walk_forward_vs_1thread_fits", wall / sum(one), GOAL)
    print_goal("walk_forward_equals_serial", float(same), 1.0, higher_is_better=True)


if __name__ == "__main__":
    main()
