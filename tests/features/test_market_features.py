"""Market features read only the opening lines of the row's own day, never the close."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nbaprops.data.synthetic import SyntheticSource
from nbaprops.features.market import MARKET_FEATURES, market_features
from nbaprops.training.prepare import prepare


@pytest.fixture(scope="module")
def feed():  # type: ignore[no-untyped-def]
    return SyntheticSource(seed=3, teams=4, seasons=["2023-24"]).load()


def test_prepare_adds_the_market_features_only_for_the_market_set(feed) -> None:  # type: ignore[no-untyped-def]
    full = prepare(feed, "PTS", "full")
    market = prepare(feed, "PTS", "market")
    assert not set(MARKET_FEATURES) & set(full.features.feature_names)
    assert market.features.feature_names[-4:] == MARKET_FEATURES
    assert market.features.tiers["MKT_LINE_OPEN"] == "market"
    lined = market.X["MKT_BOOKS"] > 0
    assert lined.any() and (~lined).any()
    assert market.X.loc[~lined, "MKT_LINE_OPEN"].isna().all()


def test_closing_lines_never_change_a_feature(feed) -> None:  # type: ignore[no-untyped-def]
    keys = feed.games[["game_date", "player_id"]]
    form = np.zeros(len(keys))
    before = market_features(keys, form, feed.lines, "PTS")
    moved = feed.lines.copy()
    close = moved["snapshot"] == "close"
    moved.loc[close, "line"] += 7.0
    moved.loc[close, "over_price"] = 250
    after = market_features(keys, form, moved, "PTS")
    pd.testing.assert_frame_equal(before, after)


def test_a_day_s_lines_change_only_that_day_s_rows(feed) -> None:  # type: ignore[no-untyped-def]
    keys = feed.games[["game_date", "player_id"]]
    form = np.zeros(len(keys))
    day = sorted(feed.lines["game_date"].unique())[40]
    before = market_features(keys, form, feed.lines, "PTS")
    moved = feed.lines.copy()
    moved.loc[moved["game_date"] >= day, "line"] += 3.0
    after = market_features(keys, form, moved, "PTS")
    earlier = (keys["game_date"] < day).to_numpy()
    pd.testing.assert_frame_equal(before[earlier], after[earlier])
    same_day = (keys["game_date"] == day).to_numpy() & (before["MKT_BOOKS"] > 0).to_numpy()
    assert same_day.any()
    assert np.allclose(
        after.loc[same_day, "MKT_LINE_OPEN"] - before.loc[same_day, "MKT_LINE_OPEN"], 3.0
    )


def test_vig_free_probability_of_a_fair_pair_is_a_half() -> None:
    day = pd.Timestamp("2024-01-01")
    lines = pd.DataFrame(
        {
            "game_date": [day, day],
            "player_id": [1, 1],
            "market": ["PTS"] * 2,
            "snapshot": ["open"] * 2,
            "bookmaker": ["a", "b"],
            "line": [20.5, 21.5],
            "over_price": [-110, 120],
            "under_price": [-110, -140],
        }
    )
    keys = pd.DataFrame({"game_date": [day], "player_id": [1]})
    out = market_features(keys, np.array([25.0]), lines, "PTS")
    assert out["MKT_LINE_OPEN"].iloc[0] == 21.0
    assert out["MKT_BOOKS"].iloc[0] == 2
    assert out["MKT_GAP_FORM"].iloc[0] == 4.0
    # book a: 0.5; book b: over 100/220 = .4545, under 140/240 = .5833 -> .4380; median .4690
    assert out["MKT_P_OVER"].iloc[0] == pytest.approx(
        (0.5 + 0.4545 / (0.4545 + 0.5833)) / 2, abs=1e-3
    )
