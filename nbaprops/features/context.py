"""Team and opponent features: opponent defence and game pace from earlier games only.

Each team-game is first summed from the player rows (points, estimated possessions), a team's
last 15 games are aggregated "through" each of its dates, and a player row then reads the value
of its team or opponent strictly before the row's date (`value_before`), so nothing from the
game day itself or later can enter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nbaprops.features.catalog import FREE_THROW_WEIGHT
from nbaprops.features.window import (
    run_positions,
    through_matrix,
    value_before,
    window_mean,
    window_sum,
)

TEAM_GAMES = 15
LEAGUE_DATES = 30


@dataclass(frozen=True)
class TeamTable:
    """One row per (team, day), sorted by team then day, with per-game sums."""

    runs: np.ndarray
    days: np.ndarray
    columns: dict[str, np.ndarray]


def _sum_by(runs: np.ndarray, days: np.ndarray, stats: dict[str, np.ndarray]) -> TeamTable:
    """Sum player rows into one row per (run, day); rows with a missing run (-1) are dropped.

    A sum skips missing values and is NaN when a (run, day) has none. Each sum accumulates its
    own rows in row order only, so it does not depend on any other team or day.
    """
    keep = runs >= 0
    runs, days = runs[keep].astype(np.int64), days[keep].astype(np.int64)
    if len(days) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return TeamTable(empty, empty, {name: np.zeros(0) for name in stats})
    base = int(days.min())
    stride = np.int64(int(days.max()) - base + 1)
    keys, groups = np.unique(runs * stride + (days - base), return_inverse=True)
    columns = {}
    for name, values in stats.items():
        values = np.asarray(values, dtype=np.float64)[keep]
        present = ~np.isnan(values)
        total = np.bincount(groups, np.where(present, values, 0.0), minlength=len(keys))
        count = np.bincount(groups, present.astype(np.float64), minlength=len(keys))
        columns[name] = np.where(count > 0, total, np.nan)
    return TeamTable(keys // stride, keys % stride + base, columns)


def _possessions(games: pd.DataFrame) -> np.ndarray:
    """Per player row: FGA + 0.44 FTA + TOV, the row's share of its team's possessions."""

    def col(name: str) -> np.ndarray:
        return pd.to_numeric(games[name], errors="coerce").to_numpy(np.float64)

    return col("FGA") + FREE_THROW_WEIGHT * col("FTA") + col("TOV")


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _mean_of_pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean of two arrays ignoring a missing side; NaN when both are missing."""
    count = (~np.isnan(a)).astype(np.float64) + (~np.isnan(b)).astype(np.float64)
    total = np.where(np.isnan(a), 0.0, a) + np.where(np.isnan(b), 0.0, b)
    return _ratio(total, count)


def team_codes(games: pd.DataFrame) -> dict[str, np.ndarray]:
    """Integer codes for the team and opponent columns, shared so they can be matched (-1 = NA)."""
    present = [c for c in ("team", "opponent") if c in games.columns]
    if not present:
        return {}
    stacked = pd.concat([games[c] for c in present], ignore_index=True)
    codes, _ = pd.factorize(stacked, sort=True)
    n = len(games)
    return {c: codes[i * n : (i + 1) * n].astype(np.int64) for i, c in enumerate(present)}


def opponent_defence(
    games: pd.DataFrame, days: np.ndarray, codes: dict[str, np.ndarray], per_possession: bool
) -> np.ndarray:
    """OPP_DRTG: the opponent's points allowed over its last 15 games, relative to the league.

    Per 100 of the opponent's opponents' possessions when FGA/FTA/TOV exist, else per game; the
    league level is taken over the last 30 game dates so a new season's scoring enters quickly.
    Both are read strictly before the row's date.
    """
    points = pd.to_numeric(games["PTS"], errors="coerce").to_numpy(np.float64)
    poss = _possessions(games) if per_possession else np.ones(len(games))
    poss = np.where(np.isnan(points), np.nan, poss)
    points = np.where(np.isnan(poss), np.nan, points)
    defence = _sum_by(codes["opponent"], days, {"allowed": points, "faced": poss})
    allowed, faced = defence.columns["allowed"], defence.columns["faced"]
    if not per_possession:
        faced = np.where(np.isnan(allowed), np.nan, 1.0)
    pos = run_positions(defence.runs)
    team_rating = _ratio(
        window_sum(through_matrix(allowed, pos, TEAM_GAMES)),
        window_sum(through_matrix(faced, pos, TEAM_GAMES)),
    )

    by_day = _sum_by(
        np.zeros(len(defence.days), dtype=np.int64),
        defence.days,
        {"allowed": allowed, "faced": faced},
    )
    league_days = by_day.days
    day_pos = np.arange(len(league_days), dtype=np.int64)
    league_rating = _ratio(
        window_sum(through_matrix(by_day.columns["allowed"], day_pos, LEAGUE_DATES)),
        window_sum(through_matrix(by_day.columns["faced"], day_pos, LEAGUE_DATES)),
    )

    opp_before = value_before(defence.runs, defence.days, team_rating, codes["opponent"], days)
    zeros = np.zeros(len(league_days), dtype=np.int64)
    league_before = value_before(
        zeros, league_days, league_rating, np.zeros(len(days), dtype=np.int64), days
    )
    return _ratio(opp_before, league_before)


def _outer_join(
    left: TeamTable, right: TeamTable
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """(runs, days, (left value, right value)) over the union of two one-column tables."""
    all_days = np.concatenate([left.days, right.days])
    if len(all_days) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, (np.zeros(0), np.zeros(0))
    base = int(all_days.min())
    stride = np.int64(int(all_days.max()) - base + 1)
    left_keys = left.runs * stride + (left.days - base)
    right_keys = right.runs * stride + (right.days - base)
    keys = np.union1d(left_keys, right_keys)
    values = []
    for table, table_keys in ((left, left_keys), (right, right_keys)):
        column = np.full(len(keys), np.nan)
        column[np.searchsorted(keys, table_keys)] = next(iter(table.columns.values()))
        values.append(column)
    return keys // stride, keys % stride + base, (values[0], values[1])


def game_pace(games: pd.DataFrame, days: np.ndarray, codes: dict[str, np.ndarray]) -> np.ndarray:
    """PACE_L15: mean of the team's and the opponent's possessions per game, last 15 games each.

    A team-game's possessions are the mean of its own estimate and its opponent's estimate.
    """
    poss = _possessions(games)
    own = _sum_by(codes["team"], days, {"own": poss})
    faced = _sum_by(codes["opponent"], days, {"faced": poss})
    runs, table_days, (own_poss, faced_poss) = _outer_join(own, faced)
    per_game = _mean_of_pair(own_poss, faced_poss)
    pace = window_mean(through_matrix(per_game, run_positions(runs), TEAM_GAMES))
    team_before = value_before(runs, table_days, pace, codes["team"], days)
    opp_before = value_before(runs, table_days, pace, codes["opponent"], days)
    return _mean_of_pair(team_before, opp_before)
