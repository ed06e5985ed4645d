"""Synthetic feed speed: the full default feed (30 teams x 4 seasons) against its floor.

The floor is the irreducible cost of the same number of raw negative-binomial draws with numpy
(one per box-score count the generator draws that way: PTS, REB, AST per row). Goal: the whole
feed (schedule, rosters, box scores, truth, lines) in <= 10 s on 2 cores. Also prints the feed's
aggregate figures and the oracle MAE per market (the best MAE a mean-predicting model can reach).

    python -m benchmarks.bench_data [--teams 30] [--repeats 2] [--seed 42]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from benchmarks.goals import print_goal
from nbaprops.data.feed import MARKETS, Feed
from nbaprops.data.synthetic import SyntheticSource, oracle_mae
from nbaprops.settings import DEFAULT_SEASONS

GOAL_SECONDS = 10.0
NB_STATS_PER_ROW = 3


def negative_binomial_floor(rows: int, seed: int) -> float:
    """Seconds to draw rows x 3 negative-binomial samples (means ~10, variance 2.2 x mean)."""
    rng = np.random.default_rng(seed)
    means = rng.uniform(0.5, 30.0, rows * NB_STATS_PER_ROW)
    phi = 2.2
    started = time.perf_counter()
    rng.negative_binomial(means / (phi - 1.0), 1.0 / phi)
    return time.perf_counter() - started


def describe(feed: Feed) -> list[str]:
    """Aggregate figures of the feed, one line each."""
    games = feed.games
    pts = games["PTS"].to_numpy(dtype=float)
    skew = float(stats.skew(pts, bias=False))
    per_team_game = len(games) / games.groupby(["game_id", "team"]).ngroups
    lines = [
        f"rows {len(games):,} ({per_team_game:.2f} a team-game), lines {len(feed.lines):,}",
        f"PTS mean {pts.mean():.2f}  SD {pts.std():.2f}  skew {skew:.2f}  "
        f"zeros {100 * (pts == 0).mean():.1f}%",
        "means: "
        + "  ".join(
            f"{c} {games[c].mean():.2f}" for c in ("MIN", "REB", "AST", "FGA", "FTA", "TOV")
        ),
        "oracle MAE: " + "  ".join(f"{m} {oracle_mae(feed, m):.3f}" for m in MARKETS),
    ]
    return lines


def main() -> None:
    """Time the generation, print rows, seconds, ratio to the floor and the goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    source = SyntheticSource(seed=args.seed, teams=args.teams, seasons=DEFAULT_SEASONS)
    timings = []
    feed: Feed | None = None
    for _ in range(max(args.repeats, 1)):
        started = time.perf_counter()
        feed = source.load()
        timings.append(time.perf_counter() - started)
    assert feed is not None
    rows = len(feed.games)
    floor = negative_binomial_floor(rows, args.seed)
    best = min(timings)
    print(f"synthetic feed: {args.teams} teams x {len(DEFAULT_SEASONS)} seasons, seed {args.seed}")
    print(f"rows            {rows:,}")
    print(f"seconds         first {timings[0]:.2f}, best {best:.2f} of {len(timings)}")
    print(f"floor           {floor:.3f} s for {rows * NB_STATS_PER_ROW:,} raw NB draws")
    print(f"ratio           {best / floor:.0f}x the floor")
    verdict = "PASS" if max(timings) <= GOAL_SECONDS else "FAIL"
    print(f"goal            <= {GOAL_SECONDS:.0f} s (slowest run): {verdict}")
    print_goal("synthetic_feed_seconds", max(timings), GOAL_SECONDS)
    for line in describe(feed):
        print(line)


if __name__ == "__main__":
    main()
