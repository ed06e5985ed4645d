"""Leakage: no feature of a row may move when games on or after its date change or vanish.

`assert_past_only` is the check; it is proven here both ways: the real build passes it at many
cutoffs, targets and feature sets, and deliberately leaky builds (same-day values, next-game
values, same-day team aggregates, a same-day tier) are caught.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbaprops.features import (
    FeatureFrame,
    LeakageError,
    assert_past_only,
    build_features,
    context,
    player,
    scramble_from,
    window,
)

TEAM_FEATURES = ["OPP_DRTG", "PACE_L15"]


def cutoffs(games: pd.DataFrame) -> list[pd.Timestamp]:
    """Early, middle, the new season's first day, and the last day of the log."""
    days = sorted(games["game_date"].unique())
    second_season = games.loc[games["season"] == games["season"].max(), "game_date"].min()
    return [pd.Timestamp(d) for d in (days[3], days[len(days) // 3], second_season, days[-1])]


@pytest.mark.parametrize("target", ["PTS", "PRA"])
def test_real_build_is_past_only(game_log: pd.DataFrame, target: str) -> None:
    build = functools.partial(build_features, target=target, feature_set="full")
    for cutoff in cutoffs(game_log):
        assert_past_only(build, game_log, cutoff, seed=int(cutoff.day))


@pytest.mark.parametrize("target", ["REB", "AST"])
def test_real_build_is_past_only_for_other_targets(game_log: pd.DataFrame, target: str) -> None:
    build = functools.partial(build_features, target=target)
    assert_past_only(build, game_log, cutoffs(game_log)[1])


def test_real_build_is_past_only_with_fallbacks(game_log: pd.DataFrame) -> None:
    """Without possessions OPP_DRTG falls back to points per game: still past-only."""
    games = game_log.drop(columns=["FGA", "season"])
    frame = build_features(games)
    assert "OPP_DRTG" in frame.feature_names
    for cutoff in cutoffs(game_log):
        assert_past_only(build_features, games, cutoff)


def test_scrambling_reaches_the_features(game_log: pd.DataFrame) -> None:
    """The check is not vacuous: scrambled stats do move the features of later rows."""
    cutoff = cutoffs(game_log)[1]
    before = build_features(game_log).X
    after = build_features(scramble_from(game_log, cutoff, seed=1)).X
    later = game_log["game_date"] > cutoff
    for column in before.columns:
        if column in ("home", "rest_days", "back_to_back", "games_in_season", "games_in_history"):
            continue  # schedule features: the schedule (keys) is not scrambled
        changed = ~np.isclose(before.loc[later, column], after.loc[later, column], equal_nan=True)
        assert changed.any(), column
    same_day = game_log["game_date"] == cutoff
    assert (
        scramble_from(game_log, cutoff, 1).loc[same_day, "PTS"] != game_log.loc[same_day, "PTS"]
    ).any()


def test_team_features_ignore_same_day_and_opponent_rows(game_log: pd.DataFrame) -> None:
    """Rewriting only other players' rows (teammates, opponents) on and after D moves no team
    feature on D, yet does move them on later dates."""
    cutoff = cutoffs(game_log)[1]
    on_day = game_log[game_log["game_date"] == cutoff]
    focus = on_day["player_id"].iloc[0]
    scrambled = scramble_from(game_log, cutoff, seed=5)
    others = (game_log["player_id"] != focus).to_numpy()
    games = game_log.copy()
    for column in ("MIN", "PTS", "REB", "AST", "FGA", "FTA", "TOV"):
        games.loc[others, column] = scrambled.loc[others, column]
    before, after = build_features(game_log).X, build_features(games).X
    rows_on_day = game_log.index[game_log["game_date"] == cutoff]
    for column in TEAM_FEATURES:
        np.testing.assert_array_equal(
            before.loc[rows_on_day, column], after.loc[rows_on_day, column]
        )
    later = game_log.index[game_log["game_date"] > cutoff]
    for column in TEAM_FEATURES:
        assert not np.allclose(before.loc[later, column], after.loc[later, column], equal_nan=True)


# Deliberately leaky builds: each must be caught by assert_past_only.


def _with_extra_feature(frame: FeatureFrame, name: str, values: pd.Series) -> FeatureFrame:
    X = frame.X.assign(**{name: values.astype(float)})
    return FeatureFrame(
        X=X,
        keys=frame.keys,
        y=frame.y,
        feature_names=(*frame.feature_names, name),
        version=frame.version,
        tiers={**frame.tiers, name: "core"},
    )


def same_day_points_build(games: pd.DataFrame) -> FeatureFrame:
    """A rolling mean with shift(0): the row's own points enter its feature."""
    frame = build_features(games)
    ordered = games.sort_values(["player_id", "game_date"])
    leaky = ordered.groupby("player_id")["PTS"].transform(lambda s: s.rolling(5, 1).mean())
    return _with_extra_feature(frame, "PTS_L5_Leaky", leaky.reindex(games.index))


def next_game_build(games: pd.DataFrame) -> FeatureFrame:
    """shift(-1): the player's next game peeks into the future."""
    frame = build_features(games)
    ordered = games.sort_values(["player_id", "game_date"])
    leaky = ordered.groupby("player_id")["MIN"].shift(-1)
    return _with_extra_feature(frame, "next_minutes", leaky.reindex(games.index))


def same_day_tier_build(games: pd.DataFrame) -> FeatureFrame:
    """A tier from the game's own points: a breakout game promotes its own row."""
    frame = build_features(games)
    keys = frame.keys.assign(tier=np.where(games["PTS"] >= 20, "star", "bench"))
    return FeatureFrame(frame.X, keys, frame.y, frame.feature_names, frame.version, frame.tiers)


def test_catches_same_day_value(game_log: pd.DataFrame) -> None:
    with pytest.raises(LeakageError, match="PTS_L5_Leaky"):
        assert_past_only(same_day_points_build, game_log, cutoffs(game_log)[1])


def test_catches_same_day_value_on_the_last_day(game_log: pd.DataFrame) -> None:
    """On the last day only same-day rows can betray the leak: the check compares them too."""
    with pytest.raises(LeakageError, match="PTS_L5_Leaky"):
        assert_past_only(same_day_points_build, game_log, cutoffs(game_log)[-1])


def test_catches_next_game_value(game_log: pd.DataFrame) -> None:
    with pytest.raises(LeakageError, match="next_minutes"):
        assert_past_only(next_game_build, game_log, cutoffs(game_log)[1])


def test_catches_same_day_tier(game_log: pd.DataFrame) -> None:
    with pytest.raises(LeakageError, match="tier"):
        assert_past_only(same_day_tier_build, game_log, cutoffs(game_log)[1])


def test_catches_player_windows_with_shift_zero(
    game_log: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole player pipeline with shift(0) injected into its one window helper."""

    def leaky_past_matrix(values: np.ndarray, pos: np.ndarray, width: int) -> np.ndarray:
        return window.lag_matrix(values, pos, range(0, width))

    monkeypatch.setattr(player, "past_matrix", leaky_past_matrix)
    with pytest.raises(LeakageError, match="PTS_L15_EWMA"):
        assert_past_only(build_features, game_log, cutoffs(game_log)[1])


def test_catches_team_values_read_on_the_same_day(
    game_log: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Team aggregates read through the game day (<= instead of <) leak that day's box scores."""

    def inclusive_value_before(*arrays: np.ndarray) -> np.ndarray:
        *table_and_query_runs, query_days = arrays  # value_before's arguments, called positionally
        return window.value_before(*table_and_query_runs, query_days + 1)

    monkeypatch.setattr(context, "value_before", inclusive_value_before)
    with pytest.raises(LeakageError, match=r"OPP_DRTG|PACE_L15"):
        assert_past_only(build_features, game_log, cutoffs(game_log)[1])


def test_cutoff_before_the_data_is_refused(game_log: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="choose a cutoff inside the data"):
        assert_past_only(build_features, game_log, pd.Timestamp("2000-01-01"))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000), where=st.floats(0.05, 1.0), target=st.sampled_from(["PTS", "PRA"])
)
def test_past_only_on_random_logs(
    make_log: Callable[..., pd.DataFrame], seed: int, where: float, target: str
) -> None:
    games = make_log(teams=4, players_per_team=3, dates=24, seed=seed)
    days = sorted(games["game_date"].unique())
    cutoff = pd.Timestamp(days[max(1, min(len(days) - 1, int(where * len(days))))])
    assert_past_only(functools.partial(build_features, target=target), games, cutoff, seed=seed)
