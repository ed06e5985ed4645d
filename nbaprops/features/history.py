"""The earlier game-log rows one day's features read: enough history to build them exactly.

Scoring a morning builds features for the day's rows only, yet a build over all known history
grows with the season (85,000 rows early in the last season of the default feed, 102,000
late). The day's features read, by construction (see build.py, player.py, context.py):

- player features: the player's own earlier rows (windows, EWMAs, season and career form, rest,
  history counts), so every earlier row of each scored player is kept;
- team features (OPP_DRTG, PACE_L15): each team's table of per-game sums over its last
  `TEAM_GAMES` games, as team and as opponent, each sum over every player row of that game;
- the league level of OPP_DRTG: per-date sums over the last `LEAGUE_DATES` game dates.

So every row on or after the earliest of those dates is kept too, and the day's features are
bit-identical to the full build's (window statistics never read rows outside their window:
window.py). tests/features/test_history_rows.py checks that on every day of a season.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nbaprops.features.context import LEAGUE_DATES, TEAM_GAMES


def _nth_last_date(dates: pd.Series, n: int) -> pd.Timestamp | None:
    """The n-th most recent distinct date, or None when there are fewer than n."""
    distinct = dates.drop_duplicates().nlargest(n)
    return None if len(distinct) < n else distinct.iloc[-1]


def history_cutoff(known: pd.DataFrame, teams: set[str]) -> pd.Timestamp | None:
    """The earliest date any of the day's team features reads a full game of: the
    `TEAM_GAMES`-th last game of each playing team (as team and as opponent) and the
    `LEAGUE_DATES`-th last game date. None when some team or the league has fewer games,
    so that everything is read."""
    cutoffs: list[pd.Timestamp | None] = []
    if "opponent" in known.columns:
        cutoffs.append(_nth_last_date(known.loc[known["opponent"].notna(), "game_date"],
                                      LEAGUE_DATES))  # fmt: skip
    for column in ("team", "opponent"):
        if column not in known.columns:
            continue
        playing = known.loc[known[column].isin(teams), [column, "game_date"]]
        for team in teams:
            cutoffs.append(_nth_last_date(playing.loc[playing[column] == team, "game_date"],
                                          TEAM_GAMES))  # fmt: skip
    if not cutoffs or any(c is None for c in cutoffs):
        return None
    return min(c for c in cutoffs if c is not None)


def rows_for_day(known: pd.DataFrame, today: pd.DataFrame) -> np.ndarray:
    """Mask of the rows of `known` (games before the day) that the features of `today`'s
    rows read: every earlier row of today's players, and every row from the cutoff on.

    All rows are kept when the cutoff cannot be placed (too few games) or when dropping rows
    would leave an optional column without a single value, which would switch its features
    off (build.py `_disabled`) and so change the day's columns."""
    everything = np.ones(len(known), dtype=bool)
    teams = set()
    for column in ("team", "opponent"):
        if column in today.columns:
            teams |= set(today[column].dropna().astype(str))
    cutoff = history_cutoff(known, teams)
    if cutoff is None:
        return everything
    keep = (known["player_id"].isin(today["player_id"]) | (known["game_date"] >= cutoff)).to_numpy()
    empty_before = known.isna().all()
    empty_after = known.loc[keep].isna().all()
    if not empty_before.equals(empty_after):
        return everything
    return keep
