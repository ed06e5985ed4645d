"""A live prediction for a player who then does not play is void once the day's box scores
are in: it leaves the open days, counts as void, and stays out of the settled window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import sqlalchemy as sa

from jobs.loop.live_predictions import LivePredictions
from jobs.loop.scoring import settle_open_days
from nbaprops.data.synthetic import SyntheticSource


def test_a_player_who_did_not_play_is_void_not_open_forever(tmp_path: Path) -> None:
    feed = SyntheticSource(seed=5, teams=4, seasons=["2023-24"]).load()
    day = sorted(feed.games["game_date"].unique())[30]
    played = feed.games[feed.games["game_date"] == day].iloc[0]
    live = LivePredictions(sa.create_engine(f"sqlite:///{tmp_path / 'state.db'}"))
    live.ensure_schema()
    absent_id = int(feed.games["player_id"].max()) + 1  # no game that day
    frame = pd.DataFrame(
        {
            "player_id": [int(played["player_id"]), absent_id],
            "player_name": [str(played["player_name"]), "Out Tonight"],
            "market": ["PTS", "PTS"],
            "line": [20.5, 12.5],
            "prediction": [21.0, 11.0],
            "p_over": [0.55, 0.45],
        }
    )
    made_for = pd.Timestamp(day).date()
    live.record(made_for, "3", frame)
    next_day = made_for + dt.timedelta(days=1)
    ctx = SimpleNamespace(settings=SimpleNamespace(target="PTS"), run_for=next_day)

    # the logs do not reach the day yet: nothing settles, nothing is void
    before = feed.known_before(made_for)
    assert settle_open_days(ctx, live, before) == (0, 0)  # type: ignore[arg-type]
    assert live.unsettled_days(next_day) == [made_for]

    assert settle_open_days(ctx, live, feed.known_before(next_day)) == (1, 1)  # type: ignore[arg-type]
    assert live.unsettled_days(next_day) == []
    window = live.settled_window("3", 10)
    assert len(window.abs_errors) == 1
    assert window.abs_errors[0] == abs(float(played["PTS"]) - 21.0)
