"""The morning's scoring builds features over the earlier rows its day reads
(nbaprops.features.history), not all known history: the day's rows must come out
bit-identical to a build over everything, on every day, and the restriction must bite."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from nbaprops.features import build_features
from nbaprops.features.history import history_cutoff, rows_for_day

STATS = ("MIN", "PTS", "REB", "AST", "FGA", "FTA", "TOV")


def day_parts(games: pd.DataFrame, day: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Known rows (before `day`) and the day's rows with their box score zeroed, as scoring
    sees them before tip-off."""
    known = games[games["game_date"] < day].reset_index(drop=True)
    today = games[games["game_date"] == day].reset_index(drop=True)
    today[list(STATS)] = 0
    return known, today


def features_of_today(known: pd.DataFrame, today: pd.DataFrame, target: str) -> pd.DataFrame:
    """The day's feature rows with their tier and baseline, built over `known` + `today`."""
    frame = pd.concat([known, today], ignore_index=True)
    built = build_features(frame, target=target, feature_set="full")
    rows = slice(len(known), len(frame))
    out = built.X.iloc[rows].reset_index(drop=True)
    out["tier"] = built.keys["tier"].iloc[rows].to_numpy()
    out["baseline"] = built.keys["baseline"].iloc[rows].to_numpy()
    return out


@pytest.fixture(scope="module")
def season(make_log: Callable[..., pd.DataFrame]) -> pd.DataFrame:
    """Two half-seasons of 60 dates, 8 teams: enough for 15-game team windows and the
    30-date league level to leave early rows out."""
    return make_log(teams=8, players_per_team=7, dates=120, seed=11)


@pytest.mark.parametrize("target", ["PTS", "PRA"])
def test_the_days_features_equal_the_full_builds_on_every_day(
    season: pd.DataFrame, target: str
) -> None:
    days = sorted(season["game_date"].unique())
    dropped = 0
    for day in days[1:]:
        known, today = day_parts(season, pd.Timestamp(day))
        keep = rows_for_day(known, today)
        dropped += int((~keep).sum())
        full = features_of_today(known, today, target)
        restricted = features_of_today(known[keep].reset_index(drop=True), today, target)
        pd.testing.assert_frame_equal(restricted, full, check_exact=True)
    assert dropped > 0, "the restriction never left a row out: nothing was tested"


def test_late_in_the_season_rows_are_left_out(season: pd.DataFrame) -> None:
    last = pd.Timestamp(sorted(season["game_date"].unique())[-1])
    known, today = day_parts(season, last)
    keep = rows_for_day(known, today)
    assert keep.mean() < 0.8  # 8 teams: the day's players are a large share of all
    # every earlier row of the day's players is kept, whatever its date
    players = known["player_id"].isin(today["player_id"]).to_numpy()
    assert keep[players].all()


def test_too_few_games_for_a_team_window_keeps_everything(season: pd.DataFrame) -> None:
    days = sorted(season["game_date"].unique())
    known, today = day_parts(season, pd.Timestamp(days[10]))
    teams = set(today["team"]) | set(today["opponent"])
    assert history_cutoff(known, teams) is None
    assert rows_for_day(known, today).all()


def test_a_column_only_old_rows_have_keeps_everything(season: pd.DataFrame) -> None:
    """Leaving out the only rows with a value would switch that column's features off."""
    games = season.copy()
    last = pd.Timestamp(sorted(games["game_date"].unique())[-1])
    recent = games["game_date"] >= last - pd.Timedelta(days=40)
    games["TOV"] = games["TOV"].astype(float).where(~recent, np.nan)
    known, today = day_parts(games, last)
    today["TOV"] = np.nan
    known = known[~known["player_id"].isin(today["player_id"])]  # only old rows hold TOV
    assert rows_for_day(known, today).all()
