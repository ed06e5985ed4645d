"""Feature build time on a ~100k-row game log, against the cheapest past-only feature.

The baseline, measured in the same run on the same frame, is one `groupby(player).shift(1)` plus
one rolling mean: what any past-only feature costs at minimum. Goal: the full feature set in at
most 3 s for 100k rows on 2 cores.

    python -m benchmarks.bench_features [--repeats 3] [--target PTS] [--own-log]
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from benchmarks.goals import print_goal
from nbaprops.features import build_features

GOAL_SECONDS = 3.0


def own_game_log(rows: int = 100_000, seed: int = 42) -> pd.DataFrame:
    """A plain generated log (30 teams x 13 players, seasons of 165 game dates) of about `rows`."""
    rng = np.random.default_rng(seed)
    teams, per_team = 30, 13
    players = np.arange(teams * per_team) + 1
    rate = rng.uniform(0.2, 0.8, len(players))
    minutes = rng.uniform(8, 36, len(players))
    dates_needed = rows // (teams // 2 * 2 * 10) + 1
    days: list[pd.Timestamp] = []
    season = 2021
    while len(days) < dates_needed:
        days.extend(pd.date_range(f"{season}-10-19", periods=165, freq="D"))
        season += 1
    frames = []
    for game_day in days[:dates_needed]:
        order = rng.permutation(teams)
        team_of_slot = np.repeat(order, per_team)
        opponent_of_slot = np.repeat(order.reshape(-1, 2)[:, ::-1].ravel(), per_team)
        pid = (team_of_slot * per_team + np.tile(np.arange(per_team), teams)) + 1
        plays = rng.random(len(pid)) < 0.8
        pid, team, opp = pid[plays], team_of_slot[plays], opponent_of_slot[plays]
        mins = np.clip(rng.normal(minutes[pid - 1], 5), 1, 46)
        frames.append(
            pd.DataFrame(
                {
                    "game_date": game_day,
                    "player_id": pid,
                    "team": team,
                    "opponent": opp,
                    "home": (team < opp).astype(int),
                    "MIN": mins.round(1),
                    "PTS": rng.poisson(mins * rate[pid - 1]),
                    "REB": rng.poisson(mins * 0.15),
                    "AST": rng.poisson(mins * 0.1),
                    "FGA": rng.poisson(mins * 0.4),
                    "FTA": rng.poisson(mins * 0.1),
                    "TOV": rng.poisson(mins * 0.05),
                }
            )
        )
    games = pd.concat(frames, ignore_index=True)
    games["player_name"] = "Player " + games["player_id"].astype(str)
    games["team"] = "T" + games["team"].astype(str)
    games["opponent"] = "T" + games["opponent"].astype(str)
    return games


def load_games(own_log: bool) -> tuple[pd.DataFrame, str]:
    """The default synthetic feed's games when available, else the plain generated log."""
    if not own_log:
        try:
            from nbaprops.data.synthetic import SyntheticSource
        except ImportError:
            pass
        else:
            return SyntheticSource(seed=42).load().games, "SyntheticSource(seed=42)"
    return own_game_log(), "benchmarks.bench_features.own_game_log"


def cheapest_past_feature(games: pd.DataFrame, target: str = "PTS") -> pd.Series:
    """The baseline: the target shifted one game within the player, then a 5-game rolling mean."""
    ordered = games.sort_values(["player_id", "game_date"])
    previous = ordered.groupby("player_id")[target].shift(1)
    rolled = previous.groupby(ordered["player_id"]).rolling(5, min_periods=1).mean()
    return rolled.droplevel(0).reindex(games.index)


def best_time(work: Callable[[], object], repeats: int) -> float:
    """Fastest of `repeats` wall-clock runs, in seconds (the least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    """Time build_features against the baseline and print the result and the goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--target", default="PTS")
    parser.add_argument("--own-log", action="store_true", help="skip the synthetic feed")
    args = parser.parse_args()

    games, source = load_games(args.own_log)
    print(f"game log: {len(games):,} rows, {games['player_id'].nunique()} players ({source})")
    baseline = best_time(lambda: cheapest_past_feature(games, args.target), args.repeats)
    for feature_set in ("core", "context", "full"):
        seconds = best_time(
            functools.partial(build_features, games, args.target, feature_set), args.repeats
        )
        print(
            f"features {feature_set:<8} {seconds:6.3f} s  ({seconds / baseline:5.1f}x the baseline)"
        )
    frame = build_features(games, args.target, "full")
    per_100k = seconds * 100_000 / len(games)
    verdict = "meets" if per_100k <= GOAL_SECONDS else "misses"
    print(f"baseline (shift(1) + one rolling mean) {baseline:6.3f} s")
    print(
        f"full set: {len(frame.feature_names)} features, {per_100k:.3f} s per 100k rows; "
        f"{verdict} the goal of {GOAL_SECONDS:.1f} s per 100k rows"
    )
    print_goal("features_seconds_per_100k", per_100k, GOAL_SECONDS)


if __name__ == "__main__":
    main()
