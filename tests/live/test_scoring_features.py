"""No train/serve skew: the features the morning's scoring builds for a day's players (over
the history they read and the day's lines of every book) equal the training build's for the
same rows, market features included (the consensus of all books, not the one line bet)."""

from __future__ import annotations

import pandas as pd
import pytest

from jobs.loop.scoring import morning_data, posted_lines
from nbaprops.data.feed import Feed
from nbaprops.data.synthetic import SyntheticSource
from nbaprops.training.prepare import prepare


@pytest.fixture(scope="module")
def feed() -> Feed:
    return SyntheticSource(seed=5, teams=8, seasons=["2023-24", "2024-25"]).load()


@pytest.mark.parametrize("feature_set", ["full", "market"])
def test_the_mornings_features_equal_the_training_builds(feed: Feed, feature_set: str) -> None:
    trained = prepare(feed, "PTS", feature_set)
    days = feed.dates[feed.dates >= pd.Timestamp("2025-01-01")][::9][:6]
    assert len(days) == 6
    compared = 0
    for day in days:
        morning = feed.morning_of(day, line_history=False)
        players = posted_lines(morning, day.date(), "PTS")["player_id"]
        scored = morning_data(morning, day.date(), "PTS", players, feature_set)
        assert scored is not None
        rows = (scored.dates == day).to_numpy()
        got = scored.X[rows].assign(player_id=scored.segments["player_id"][rows].to_numpy())
        on_day = (trained.dates == day).to_numpy()
        want = trained.X[on_day].assign(player_id=trained.segments["player_id"][on_day].to_numpy())
        want = want[want["player_id"].isin(got["player_id"])]
        got, want = (f.sort_values("player_id").reset_index(drop=True) for f in (got, want))
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        if feature_set == "market":
            assert (got["MKT_BOOKS"] > 1).any(), "the consensus of several books was not used"
        compared += len(got)
    assert compared > 100
