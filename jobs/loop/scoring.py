"""The ingest job: settle earlier predictions with their results, then predict today's props
with the Production model before tip-off, so the monitor always has settled live predictions.

Scoring sees exactly what is known on the morning of the day (Feed.morning_of): the games
before it, the day's slate and the day's posted lines, never a box score of the day. A replay
and a live run therefore take the same path and give the same predictions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from governance.registry import PRODUCTION, version_by_alias
from governance.serving import load_version
from jobs.daemon.types import JobResult
from jobs.loop.context import JobContext
from jobs.loop.live_predictions import LivePredictions
from nbaprops.data.feed import STAT_COLUMNS, Feed, target_values
from nbaprops.features.history import rows_for_day
from nbaprops.training.pipeline import MIN_HISTORY_GAMES
from nbaprops.training.prepare import PreparedData, prepare


def actual_results(feed: Feed, day: dt.date, market: str) -> pd.DataFrame:
    """player_id, market, actual for every player who played on `day`."""
    games = feed.on_date(day).games
    return pd.DataFrame(
        {
            "player_id": games["player_id"].to_numpy(),
            "market": market,
            "actual": target_values(games, market).to_numpy(dtype=float),
        }
    )


def settle_open_days(ctx: JobContext, live: LivePredictions, feed: Feed) -> tuple[int, int]:
    """Fill in the results of every earlier day whose predictions are still open.

    Returns (settled, void). A day counts as played once the game logs reach it: its
    predictions still without a result then are void (the player did not play). A day the
    logs do not reach yet stays open for the next run.
    """
    market = ctx.settings.target
    last_played = feed.games["game_date"].max() if not feed.games.empty else None
    settled = void = 0
    for day in live.unsettled_days(ctx.run_for):
        settled += live.settle(day, actual_results(feed, day, market), ctx.run_for)
        if last_played is not None and pd.Timestamp(day) <= last_played:
            void += live.void_unplayed(day, ctx.run_for)
    return settled, void


def posted_lines(morning: Feed, day: dt.date, market: str) -> pd.DataFrame:
    """One line per player for `day`: the earliest snapshot, the first bookmaker by name."""
    lines = morning.lines
    lines = lines[(lines["game_date"] == pd.Timestamp(day)) & (lines["market"] == market)]
    if "open" in set(lines["snapshot"]):
        lines = lines[lines["snapshot"] == "open"]
    ordered = lines.sort_values(["player_id", "snapshot_ts", "bookmaker"], na_position="last")
    return ordered.drop_duplicates("player_id").reset_index(drop=True)


def season_of(day: dt.date) -> str:
    """The season label of a date: July onwards starts a new season (2024-10-22 -> 2024-25)."""
    start = day.year if day.month >= 7 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def pending_rows(
    games: pd.DataFrame, slate: pd.DataFrame, players: pd.Series, day: dt.date
) -> pd.DataFrame:
    """Game-log rows for today's games, not yet played: the team from each player's latest
    game, opponent and home from the slate, box-score columns zero (features are past-only,
    tests/features/test_leakage.py, so a row's own stats never reach its features)."""
    latest = games.sort_values("game_date", kind="stable").drop_duplicates("player_id", keep="last")
    latest = latest[latest["player_id"].isin(players)]
    rows = latest.copy()
    rows["game_date"] = pd.Timestamp(day)
    if "season" in rows:
        rows["season"] = season_of(day)
    if "team" in rows and not slate.empty:
        home = slate.rename(columns={"home_team": "team", "away_team": "opponent"}).assign(home=1)
        away = slate.rename(columns={"away_team": "team", "home_team": "opponent"}).assign(home=0)
        sides = pd.concat([home, away], ignore_index=True)[["team", "opponent", "home", "game_id"]]
        rows = rows.drop(columns=[c for c in ("opponent", "home", "game_id") if c in rows])
        rows = rows.merge(sides.drop_duplicates("team"), on="team", how="inner")
        rows = rows[[c for c in games.columns if c in rows.columns]]
    for column in STAT_COLUMNS:
        if column in rows:
            rows[column] = 0
    return rows.astype(games.dtypes[rows.columns].to_dict()).reset_index(drop=True)


def morning_data(
    morning: Feed, day: dt.date, market: str, players: pd.Series, feature_set: str
) -> PreparedData | None:
    """Features of `players`' rows on `day`, as a training build over the whole feed would
    give them: the day's pending rows after only the earlier rows their features read
    (nbaprops.features.history, so a day costs the same late in a season as early), and every
    book's lines of the day (the market features' consensus, as in training). None when none
    of the players has a game on the day's slate."""
    known = morning.games[morning.games["game_date"] < pd.Timestamp(day)]
    today = pending_rows(known, morning.slate(day), players, day)
    if today.empty:
        return None
    frame = pd.concat([known[rows_for_day(known, today)], today], ignore_index=True)
    lines = morning.lines
    day_lines = lines[(lines["game_date"] == pd.Timestamp(day)) & (lines["market"] == market)]
    return prepare(Feed(frame, day_lines, None, morning.source), market, feature_set)


def score_morning(morning: Feed, day: dt.date, market: str, served: Any) -> pd.DataFrame:
    """Predictions for every player with a posted line on `day` and enough history."""
    lines = posted_lines(morning, day, market)
    if lines.empty:
        return pd.DataFrame()
    data = morning_data(morning, day, market, lines["player_id"], served.feature_set)
    if data is None:
        return pd.DataFrame()
    eligible = data.history_games >= MIN_HISTORY_GAMES
    rows = np.flatnonzero((data.dates == pd.Timestamp(day)).to_numpy() & eligible)
    mu = served.model.predict(data.X.iloc[rows].reset_index(drop=True))
    segments = data.segments.iloc[rows].reset_index(drop=True).assign(prediction=mu)
    scored = segments.merge(lines[["player_id", "line"]], on="player_id", how="inner")
    scored["p_over"] = served.model.prob_over(
        scored["prediction"].to_numpy(), scored["line"].to_numpy(), scored["tier"].to_numpy()
    )
    scored["market"] = market
    return scored


def predict_today(ctx: JobContext, live: LivePredictions, feed: Feed) -> dict[str, Any]:
    """Score today's posted props with the Production version and store the predictions."""
    production = version_by_alias(ctx.client, ctx.model_name, PRODUCTION)
    if production is None:
        return {"predicted": 0, "note": "no Production model yet"}
    morning = feed.morning_of(ctx.run_for, line_history=False)
    if morning.slate(ctx.run_for).empty:
        return {"predicted": 0, "note": f"no games scheduled on {ctx.run_for}"}
    served = load_version(ctx.client, production.version, ctx.model_name)
    scored = score_morning(morning, ctx.run_for, ctx.settings.target, served)
    if scored.empty:
        return {"predicted": 0, "note": f"no lines posted for {ctx.run_for}"}
    stored = live.record(ctx.run_for, production.version, scored)
    return {"predicted": stored, "model_version": production.version}


def ingest_day(ctx: JobContext) -> JobResult:
    """Settle, then predict. Settling is the job's work every day, so it succeeds even when
    there is nothing to predict (the summary's note says why)."""
    live = LivePredictions(ctx.engine)
    live.ensure_schema()
    feed = ctx.feed()
    settled, void = settle_open_days(ctx, live, feed)
    return JobResult.succeeded({"settled": settled, "void": void, **predict_today(ctx, live, feed)})
