"""Feature values against hand computations, brute-force references, and missing-column rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nbaprops.features import (
    FEATURE_SETS,
    FeatureError,
    build_features,
    feature_catalog,
    tier_labels,
)

ALPHA_KEEP = 1 - 2 / 16  # (1 - alpha) for span 15


def one_player(points: list[float], dates: list[str], **stats: list[float]) -> pd.DataFrame:
    """A single player's log against one opponent, with optional stat columns."""
    n = len(points)
    frame = pd.DataFrame(
        {
            "game_date": pd.to_datetime(dates),
            "player_id": 1,
            "player_name": "Hand Computed",
            "game_id": [f"G{i}" for i in range(n)],
            "team": "AAA",
            "opponent": "BBB",
            "home": [i % 2 for i in range(n)],
            "PTS": points,
        }
    )
    for name, values in stats.items():
        frame[name] = values
    return frame


@pytest.fixture
def four_games() -> pd.DataFrame:
    return one_player(
        [10, 20, 30, 40],
        ["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-20"],
        MIN=[20.0, 25.0, 30.0, 40.0],
        FGA=[10, 12, 14, 16],
        FTA=[2, 4, 6, 8],
        TOV=[1, 2, 3, 4],
        REB=[5, 5, 5, 5],
        AST=[1, 2, 3, 4],
    )


def test_window_features_by_hand(four_games: pd.DataFrame) -> None:
    X = build_features(four_games).X
    w1, w2 = ALPHA_KEEP, ALPHA_KEEP**2
    ewma = [np.nan, 10.0, (20 + w1 * 10) / (1 + w1), (30 + w1 * 20 + w2 * 10) / (1 + w1 + w2)]
    np.testing.assert_allclose(X["PTS_L15_EWMA"], ewma, rtol=1e-12)
    # Within 15 games the truncated EWMA is exactly pandas' ewm(span=15) of the previous games.
    pandas_ewma = four_games["PTS"].astype(float).ewm(span=15).mean().shift(1)
    np.testing.assert_allclose(X["PTS_L15_EWMA"], pandas_ewma, rtol=1e-12)
    np.testing.assert_allclose(X["PTS_L5_Mean"], [np.nan, 10, 15, 20])
    np.testing.assert_allclose(X["Minutes_L5_Mean"], [np.nan, 20, 22.5, 25])
    np.testing.assert_allclose(X["volatility_5game"], [np.nan, np.nan, np.sqrt(50), 10.0])
    np.testing.assert_allclose(X["trend_points"], [np.nan, np.nan, np.nan, 10.0])
    np.testing.assert_allclose(X["games_in_history"], [0, 1, 2, 3])
    np.testing.assert_allclose(X["home"], [0, 1, 0, 1])


def test_rate_features_by_hand(four_games: pd.DataFrame) -> None:
    X = build_features(four_games).X
    usage = [(10 + 0.44 * 2 + 1) / 20, (12 + 0.44 * 4 + 2) / 25]
    per_shot = [10 / (10 + 0.44 * 2), 20 / (12 + 0.44 * 4)]
    per_minute = [10 / 20, 20 / 25]
    for name, per_game in (
        ("USG_L15_EWMA", usage),
        ("PSA_L15_EWMA", per_shot),
        ("PTS_PER_MIN_L15_EWMA", per_minute),
    ):
        expected = [
            np.nan,
            per_game[0],
            (per_game[1] + ALPHA_KEEP * per_game[0]) / (1 + ALPHA_KEEP),
        ]
        np.testing.assert_allclose(X[name].iloc[:3], expected, rtol=1e-12, err_msg=name)


def test_rest_days_and_back_to_back(four_games: pd.DataFrame) -> None:
    X = build_features(four_games).X
    # Jan 1 -> 2 -> 5 -> 20: the 15-day gap is capped at 10.
    np.testing.assert_allclose(X["rest_days"], [np.nan, 1, 3, 10])
    np.testing.assert_allclose(X["back_to_back"], [np.nan, 1, 0, 0])


def test_season_mean_falls_back_to_career_and_sets_tier() -> None:
    games = one_player([10, 20, 30, 40], ["2024-04-10", "2024-04-12", "2024-10-25", "2024-10-27"])
    frame = build_features(games, feature_set="full")
    # Fourth row: only the new season's first game (30) counts; third: career fallback.
    np.testing.assert_allclose(frame.X["PTS_Season_Mean"], [np.nan, 10, 15, 30])
    np.testing.assert_allclose(frame.X["games_in_season"], [0, 1, 0, 1])
    np.testing.assert_allclose(frame.X["games_in_history"], [0, 1, 2, 3])
    assert list(frame.keys["season"]) == ["2023-24", "2023-24", "2024-25", "2024-25"]
    assert list(frame.keys["tier"]) == ["unknown", "rotation", "rotation", "star"]
    assert "season derived from game_date (July starts a new season)" in frame.notes


def test_trend_uses_only_the_last_ten_games() -> None:
    points = [100.0, 100.0, *range(10), 0.0]
    dates = [str(d.date()) for d in pd.date_range("2024-01-01", periods=len(points), freq="2D")]
    X = build_features(one_player(points, dates)).X
    # The last row sees games 0..9 (slope 1); the two 100-point games are out of its window.
    assert X["trend_points"].iloc[-1] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(X["PTS_L5_Mean"].iloc[-1], np.mean([5, 6, 7, 8, 9]))


def test_tier_labels_thresholds() -> None:
    form = np.array([np.nan, 0.0, 9.99, 10.0, 19.99, 20.0, 35.0])
    expected = ["unknown", "bench", "bench", "rotation", "rotation", "star", "star"]
    assert list(tier_labels(form, "PTS")) == expected
    assert list(tier_labels(np.array([3.9, 4.0, 8.0]), "REB")) == ["bench", "rotation", "star"]


def three_team_games(with_possessions: bool = True) -> pd.DataFrame:
    """A vs B (Jan 1), A vs C (Jan 2), B vs A (Jan 3); one player a team."""
    rows = [
        ("2024-01-01", 1, "A", "B", 20, 10, 5, 3),
        ("2024-01-01", 2, "B", "A", 30, 20, 0, 0),
        ("2024-01-02", 1, "A", "C", 10, 10, 0, 0),
        ("2024-01-02", 3, "C", "A", 12, 8, 0, 2),
        ("2024-01-03", 1, "A", "B", 7, 9, 1, 1),
        ("2024-01-03", 2, "B", "A", 9, 8, 2, 0),
    ]
    games = pd.DataFrame(
        rows, columns=["game_date", "player_id", "team", "opponent", "PTS", "FGA", "FTA", "TOV"]
    )
    games["game_date"] = pd.to_datetime(games["game_date"])
    games["player_name"] = "P" + games["player_id"].astype(str)
    games["home"] = [1, 0, 1, 0, 0, 1]
    games["MIN"] = 30.0
    if not with_possessions:
        games = games.drop(columns=["FGA"])
    return games


def test_opponent_defence_by_hand() -> None:
    X = build_features(three_team_games()).X
    # Possessions per row: FGA + 0.44 FTA + TOV. Jan 1: A 15.2, B 20; Jan 2: A 10, C 10.
    league_before_jan2 = 100 * (30 + 20) / (20 + 15.2)
    league_before_jan3 = 100 * (30 + 20 + 12 + 10) / (20 + 15.2 + 10 + 10)
    expected = [
        np.nan,  # Jan 1: no earlier games at all
        np.nan,
        np.nan,  # A faces C, which has no earlier games
        (100 * 30 / 20) / league_before_jan2,  # C faces A: A allowed 30 on 20 possessions
        (100 * 20 / 15.2) / league_before_jan3,  # A faces B: B allowed 20 on 15.2
        (100 * (30 + 12) / (20 + 10)) / league_before_jan3,  # B faces A
    ]
    np.testing.assert_allclose(X["OPP_DRTG"], expected, rtol=1e-12)


def test_opponent_defence_falls_back_to_points_per_game() -> None:
    frame = build_features(three_team_games(with_possessions=False))
    league_before_jan3 = (30 + 20 + 12 + 10) / 4
    assert frame.X["OPP_DRTG"].iloc[4] == pytest.approx(20 / league_before_jan3, rel=1e-12)
    assert frame.X["OPP_DRTG"].iloc[5] == pytest.approx(21 / league_before_jan3, rel=1e-12)
    assert any("OPP_DRTG uses points allowed per game" in note for note in frame.notes)
    assert "PACE_L15" in frame.disabled


def test_pace_by_hand() -> None:
    X = build_features(three_team_games()).X
    # Per team-game: mean of both sides' possessions. A: Jan 1 17.6, Jan 2 10; B: Jan 1 17.6.
    pace_a, pace_b = (17.6 + 10) / 2, 17.6
    np.testing.assert_allclose(X["PACE_L15"].iloc[4:], [(pace_a + pace_b) / 2] * 2, rtol=1e-12)
    # Jan 2, A vs C: C has no past, so A's pace (Jan 1 only) stands alone.
    np.testing.assert_allclose(X["PACE_L15"].iloc[2:4], [17.6, 17.6], rtol=1e-12)


def _brute_force_reference(games: pd.DataFrame) -> pd.DataFrame:
    """Row-by-row features from explicit filters on earlier dates (slow, obviously correct)."""
    poss = games.FGA + 0.44 * games.FTA + games.TOV
    team_games = games.assign(poss=poss).groupby(["opponent", "game_date"])[["PTS", "poss"]].sum()
    by_opponent: dict[Any, pd.DataFrame] = {
        team: frame.droplevel(0) for team, frame in team_games.groupby(level=0)
    }
    league_days = games.assign(poss=poss).groupby("game_date")[["PTS", "poss"]].sum()
    by_player: dict[Any, pd.DataFrame] = {
        pid: g.sort_values("game_date") for pid, g in games.groupby("player_id")
    }
    out = []
    for row in games.itertuples():
        log = by_player[row.player_id]
        past = log[log.game_date < row.game_date]
        last15 = past.PTS.to_numpy(float)[-15:][::-1]
        weights = ALPHA_KEEP ** np.arange(len(last15))
        same_season = past[past.season == row.season]
        form = same_season.PTS.mean() if len(same_season) else past.PTS.mean()
        rest = (row.game_date - past.game_date.iloc[-1]).days if len(past) else np.nan
        defence = by_opponent[row.opponent]
        defence = defence[defence.index < row.game_date].tail(15)
        league = league_days[league_days.index < row.game_date].tail(30)
        opp = 100 * defence.PTS.sum() / defence.poss.sum() if len(defence) else np.nan
        lg = 100 * league.PTS.sum() / league.poss.sum() if len(league) else np.nan
        out.append(
            {
                "PTS_L15_EWMA": (last15 * weights).sum() / weights.sum() if len(past) else np.nan,
                "PTS_L5_Mean": past.PTS.tail(5).mean(),
                "PTS_Season_Mean": form,
                "volatility_5game": past.PTS.tail(5).std(),
                "rest_days": min(rest, 10),
                "OPP_DRTG": opp / lg,
                "games_in_history": float(len(past)),
            }
        )
    return pd.DataFrame(out, index=games.index)


def test_matches_brute_force_reference(make_log: Callable[..., pd.DataFrame]) -> None:
    # Few players, many dates: windows fill up (15 games, 30 league dates) and roll over.
    games = make_log(teams=4, players_per_team=2, dates=50, seed=11)
    assert games.groupby("player_id").size().max() > 20 and games.game_date.nunique() > 35
    X = build_features(games).X
    expected = _brute_force_reference(games)
    for column in expected.columns:
        np.testing.assert_allclose(X[column], expected[column], rtol=1e-9, err_msg=column)


@pytest.mark.parametrize(
    ("dropped", "switched_off"),
    [
        (["MIN"], {"USG_L15_EWMA", "PTS_PER_MIN_L15_EWMA", "Minutes_L5_Mean"}),
        (["team", "opponent"], {"OPP_DRTG", "PACE_L15"}),
        (["team"], {"PACE_L15"}),
        (["home"], {"home"}),
        (["FGA"], {"USG_L15_EWMA", "PSA_L15_EWMA", "PACE_L15"}),
        (
            ["FTA", "TOV", "MIN"],
            {"USG_L15_EWMA", "PSA_L15_EWMA", "PACE_L15", "PTS_PER_MIN_L15_EWMA", "Minutes_L5_Mean"},
        ),
    ],
)
def test_missing_columns_switch_features_off(
    game_log: pd.DataFrame, dropped: list[str], switched_off: set[str]
) -> None:
    full = build_features(game_log)
    frame = build_features(game_log.drop(columns=dropped))
    assert set(frame.disabled) == switched_off
    assert set(frame.feature_names) == set(full.feature_names) - switched_off
    assert list(frame.X.columns) == list(frame.feature_names)
    for name, reason in frame.disabled.items():
        assert any(column in reason for column in dropped), (name, reason)
    # Features that stay on do not change when unrelated columns go away (except OPP_DRTG,
    # which falls back to points per game without possessions).
    kept = [c for c in frame.feature_names if c != "OPP_DRTG"]
    pd.testing.assert_frame_equal(frame.X[kept], full.X[kept])


def test_empty_column_counts_as_missing(game_log: pd.DataFrame) -> None:
    games = game_log.assign(MIN=np.nan)
    frame = build_features(games)
    assert set(frame.disabled) == {"USG_L15_EWMA", "PTS_PER_MIN_L15_EWMA", "Minutes_L5_Mean"}


def test_missing_target_column_is_an_error(game_log: pd.DataFrame) -> None:
    with pytest.raises(FeatureError, match="target REB needs column"):
        build_features(game_log.drop(columns=["REB"]), target="REB")
    with pytest.raises(FeatureError, match="target PRA needs column"):
        build_features(game_log.drop(columns=["AST"]), target="PRA")


def test_unknown_target_or_feature_set_is_an_error(game_log: pd.DataFrame) -> None:
    with pytest.raises(FeatureError, match="choose one of PTS, REB, AST, PRA"):
        build_features(game_log, target="STL")
    with pytest.raises(FeatureError, match="choose one of core, context, full"):
        build_features(game_log, feature_set="everything")


def test_two_rows_for_one_player_and_day_is_an_error(game_log: pd.DataFrame) -> None:
    games = pd.concat([game_log, game_log.iloc[[5]]], ignore_index=True)
    with pytest.raises(FeatureError, match="one row per player and day"):
        build_features(games)


def test_missing_required_column_is_an_error(game_log: pd.DataFrame) -> None:
    with pytest.raises(FeatureError, match="'player_id' is missing"):
        build_features(game_log.drop(columns=["player_id"]))


def test_feature_sets_nest_and_carry_tiers_and_version(game_log: pd.DataFrame) -> None:
    frames = {name: build_features(game_log, feature_set=name) for name in FEATURE_SETS}
    core, context, full = (set(frames[n].feature_names) for n in ("core", "context", "full"))
    assert core < context < full
    assert {frames["full"].tiers[name] for name in full} == {
        "core",
        "contextual",
        "temporal",
        "history",
    }
    assert set(frames["core"].tiers.values()) == {"core"}
    assert frames["full"].version == "fs-full-v1"
    assert frames["core"].version == "fs-core-v1"
    for frame in frames.values():
        assert all(dtype == np.float64 for dtype in frame.X.dtypes)


def test_catalog_names_follow_the_target() -> None:
    names = [spec.name for spec in feature_catalog("PRA")]
    assert names[:3] == ["PRA_L15_EWMA", "PRA_L5_Mean", "PRA_Season_Mean"]
    assert "trend_pra" in names and "PRA_PER_MIN_L15_EWMA" in names


def test_pra_target_is_sum_of_parts(game_log: pd.DataFrame) -> None:
    frame = build_features(game_log, target="PRA")
    np.testing.assert_allclose(frame.y, game_log.PTS + game_log.REB + game_log.AST)
    assert frame.y.name == "PRA"
    assert "PRA_L15_EWMA" in frame.X.columns


def test_rows_keep_input_index_and_order_does_not_matter(game_log: pd.DataFrame) -> None:
    games = game_log.copy()
    games.index = pd.RangeIndex(1000, 1000 + len(games))
    shuffled = games.sample(frac=1.0, random_state=3)
    a, b = build_features(games), build_features(shuffled)
    assert b.X.index.equals(shuffled.index)
    assert b.keys.index.equals(shuffled.index) and b.y.index.equals(shuffled.index)
    pd.testing.assert_frame_equal(a.X, b.X.loc[games.index], check_exact=True)
    pd.testing.assert_frame_equal(a.keys, b.keys.loc[games.index])


def test_first_games_have_nan_features_and_unknown_tier(game_log: pd.DataFrame) -> None:
    frame = build_features(game_log)
    first = frame.X["games_in_history"] == 0
    assert first.sum() == game_log.player_id.nunique()
    past_only = [
        c
        for c in frame.feature_names
        if c not in ("games_in_history", "games_in_season", "home", "OPP_DRTG", "PACE_L15")
    ]
    assert frame.X.loc[first, past_only].isna().all().all()
    assert (frame.keys.loc[first, "tier"] == "unknown").all()
    assert (frame.keys.loc[~first, "tier"] != "unknown").all()


def test_select_keeps_rows_aligned(game_log: pd.DataFrame) -> None:
    frame = build_features(game_log)
    mask = (game_log["game_date"] < game_log["game_date"].median()).to_numpy()
    part = frame.select(mask)
    assert len(part) == mask.sum()
    assert part.X.index.equals(part.keys.index) and part.X.index.equals(part.y.index)
    assert part.feature_names == frame.feature_names


def test_missing_values_are_skipped_not_spread() -> None:
    games = one_player(
        [10, np.nan, 30, 40], ["2024-01-01", "2024-01-03", "2024-01-05", "2024-01-07"]
    )
    X = build_features(games).X
    np.testing.assert_allclose(X["PTS_L5_Mean"], [np.nan, 10, 10, 20])
    np.testing.assert_allclose(X["PTS_Season_Mean"], [np.nan, 10, 10, 20])
    np.testing.assert_allclose(X["games_in_history"], [0, 1, 2, 3])  # the game was played


def test_empty_log_gives_empty_features() -> None:
    games = one_player([10.0], ["2024-01-01"], MIN=[30.0], FGA=[9], FTA=[2], TOV=[1]).iloc[:0]
    frame = build_features(games)
    assert frame.X.shape == (0, len(frame.feature_names))
    assert "PTS_L15_EWMA" in frame.feature_names and len(frame.y) == 0
