"""Pre-game scoring: on the morning of a day the ingest job predicts every player with a
posted line from games strictly before the day, the next day's run settles them, and a
replay (the whole season in the folder) gives exactly the predictions of a live run."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from nbaprops.data.feed import Feed
from nbaprops.data.writer import write_feed
from nbaprops.training.pipeline import MIN_HISTORY_GAMES
from tests.live.conftest import Lab, fresh_home, live_settings, run_cli

DAY = dt.date(2025, 1, 20)
QUERY = (
    "SELECT player_id, line, prediction, p_over, actual FROM live_predictions "
    "WHERE made_for = :d ORDER BY player_id"
)


def morning_folder(feed: Feed, day: dt.date, out: Path) -> Path:
    """The folder as it stands on the morning of `day`: games to the day before, the lines
    and schedule up to the day (what a fetcher has by then)."""
    d = pd.Timestamp(day)
    cut = Feed(
        feed.games[feed.games["game_date"] < d].reset_index(drop=True),
        feed.lines[feed.lines["game_date"] <= d].reset_index(drop=True),
        None,
        "csv",
        schedule=feed.schedule[feed.schedule["game_date"] <= d].reset_index(drop=True),
    )
    write_feed(cut, out)
    return out


def ingest(home: Path, data: Path, day: dt.date) -> dict:
    """`nbaprops jobs run ingest --date DAY --json`; the job's summary."""
    result = run_cli(live_settings(home, data), "jobs", "run", "ingest", "--date", str(day),
                     "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "succeeded", outcome
    return dict(outcome["summary"])


def stored(home: Path, day: dt.date) -> pd.DataFrame:
    """The live predictions stored for `day`, by player."""
    engine = sa.create_engine(f"sqlite:///{home / 'state.db'}")
    with engine.connect() as conn:
        frame = pd.read_sql(
            sa.text(QUERY),
            conn,
            params={"d": str(day)},
        )
    engine.dispose()
    return frame


def players_with_history(feed: Feed, day: dt.date) -> set[int]:
    """Players with a PTS line on `day` and at least MIN_HISTORY_GAMES earlier games."""
    d = pd.Timestamp(day)
    lines = feed.lines[(feed.lines["game_date"] == d) & (feed.lines["market"] == "PTS")]
    counts = feed.games[feed.games["game_date"] < d]["player_id"].value_counts()
    return {int(p) for p in lines["player_id"].unique() if counts.get(p, 0) >= MIN_HISTORY_GAMES}


def test_morning_folder_is_scored_before_tipoff_and_settled_next_day(
    lab: Lab, tmp_path: Path
) -> None:
    home = fresh_home(lab, tmp_path / "state")
    summary = ingest(home, morning_folder(lab.feed, DAY, tmp_path / "day1"), DAY)
    wanted = players_with_history(lab.feed, DAY)
    assert len(wanted) > 20
    predicted = set(stored(home, DAY)["player_id"])
    assert summary["predicted"] == len(predicted)
    assert len(predicted & wanted) >= 0.95 * len(wanted)
    assert stored(home, DAY)["actual"].isna().all()

    nxt = DAY + dt.timedelta(days=1)
    summary = ingest(home, morning_folder(lab.feed, nxt, tmp_path / "day2"), nxt)
    assert summary["settled"] == len(predicted)
    settled = stored(home, DAY)
    actual = lab.feed.on_date(DAY).games.set_index("player_id")["PTS"]
    assert settled["actual"].tolist() == actual.loc[settled["player_id"]].astype(float).tolist()


def test_replay_and_live_give_identical_predictions(lab: Lab, tmp_path: Path) -> None:
    live_home = fresh_home(lab, tmp_path / "live")
    ingest(live_home, morning_folder(lab.feed, DAY, tmp_path / "morning"), DAY)
    replay_home = fresh_home(lab, tmp_path / "replay")
    ingest(replay_home, lab.full, DAY)
    live, replay = stored(live_home, DAY), stored(replay_home, DAY)
    assert len(live) > 20
    pd.testing.assert_frame_equal(live, replay)


def test_morning_folder_without_the_days_box_scores_differs_from_old_behaviour(
    lab: Lab, tmp_path: Path
) -> None:
    """A day with lines but no scheduled game of a player's team predicts nothing for him."""
    feed = lab.feed
    d = pd.Timestamp(DAY)
    playing = set(feed.schedule.loc[feed.schedule["game_date"] == d, "home_team"]) | set(
        feed.schedule.loc[feed.schedule["game_date"] == d, "away_team"]
    )
    home = fresh_home(lab, tmp_path / "state")
    folder = morning_folder(feed, DAY, tmp_path / "day")
    ingest(home, folder, DAY)
    latest = feed.games[feed.games["game_date"] < d].sort_values("game_date")
    team = latest.drop_duplicates("player_id", keep="last").set_index("player_id")["team"]
    assert set(team.loc[stored(home, DAY)["player_id"]]) <= playing
