"""Tracking overhead: a tracked `nbaprops train` against the same fit and evaluation bare.

Both arms run in this process on the full four-season default feed with the same features,
split, seed and threads; the bare arm does the fit, the probability layer and the evaluation
(validation and training-window metrics) without MLflow: what tracking adds is the run, the
model's logging, the plots and tables, and the writes. Goal: tracked / bare <= 1.25
(MLflow's default autologging measured 1.8-3.7x). Each arm's figure is its best of
`--repeats` runs (3 by default): single runs on this 2-core machine spread by about 0.1x.

    python -m benchmarks.bench_training [--teams 30] [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.goals import print_goal
from nbaprops.data.synthetic import SyntheticSource
from nbaprops.settings import DEFAULT_SEASONS, Settings
from nbaprops.tracking.setup import init_tracking
from nbaprops.training.evaluation import evaluate, training_metrics
from nbaprops.training.fit import calibration_props, fit_props_model
from nbaprops.training.pipeline import TrainSpec, split_rows, train_and_log
from nbaprops.training.prepare import PreparedData, prepare
from nbaprops.training.props import props_for_rows

GOAL = 1.25


def bare_fit(data: PreparedData, spec: TrainSpec) -> float:
    """Seconds for the untracked fit + probability layer + evaluation."""
    started = time.perf_counter()
    train, val = split_rows(data, spec)
    seg = data.segments
    train_props = calibration_props(seg.iloc[train].reset_index(drop=True), data.lines, data.target)
    fitted = fit_props_model(
        data.X.iloc[train].reset_index(drop=True),
        data.y[train],
        seg["game_date"].iloc[train].reset_index(drop=True),
        seg["tier"].to_numpy()[train],
        train_props,
        model_type=spec.model_type,
        overrides=spec.params,
        calibration=spec.calibration,
        seed=spec.seed,
        n_jobs=spec.n_jobs,
    )
    val_seg = seg.iloc[val].reset_index(drop=True)
    baseline = np.nan_to_num(data.baseline[val], nan=float(np.mean(data.y[train])))
    training_metrics(fitted, data.X.iloc[train], data.y[train])
    evaluate(
        fitted,
        data.X.iloc[val].reset_index(drop=True),
        data.y[val],
        val_seg,
        props_for_rows(val_seg, data.lines, data.target),
        baseline,
        None if data.oracle is None else data.oracle[val],
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--teams", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    feed = SyntheticSource(seed=42, teams=args.teams, seasons=DEFAULT_SEASONS).load()
    data = prepare(feed, "PTS", "full")
    print(f"feed: {len(feed.games):,} player-games, {len(feed.lines):,} lines")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp), _env_file=None)  # type: ignore[call-arg]
        client = init_tracking(settings)
        experiment = client.get_experiment_by_name("Phase1_Foundation")
        assert experiment is not None
        for model_type in ("xgboost", "lightgbm"):
            spec = TrainSpec(model_type=model_type, seed=42, n_jobs=2)
            bare, tracked = [], []
            # warm-up: imports and first-use costs of both arms are not part of the comparison
            bare_fit(data, spec)
            train_and_log(data, spec, experiment.experiment_id, dt.date.today(), client=client)
            for _ in range(args.repeats):
                bare.append(bare_fit(data, spec))
                started = time.perf_counter()
                train_and_log(data, spec, experiment.experiment_id, dt.date.today(), client=client)
                tracked.append(time.perf_counter() - started)
            b, t = min(bare), min(tracked)
            verdict = "meets" if t / b <= GOAL else "misses"
            print(
                f"{model_type:<9} bare {b:6.2f}s  tracked {t:6.2f}s  ratio {t / b:5.2f}x "
                f"({verdict} the {GOAL:.2f}x goal)"
            )
            print_goal(f"tracked_training_{model_type}", t / b, GOAL)


if __name__ == "__main__":
    main()
