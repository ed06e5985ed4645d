"""The ingest job: settle earlier predictions with their results, then predict today's props
with the Production model, so the monitor always has settled live predictions to judge."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from governance.registry import PRODUCTION, version_by_alias
from governance.serving import load_version
from jobs.loop.context import JobContext
from jobs.loop.live_predictions import LivePredictions
from nbaprops.data.feed import Feed, target_values
from nbaprops.training.pipeline import MIN_HISTORY_GAMES
from nbaprops.training.prepare import prepare

ONE_DAY = dt.timedelta(days=1)


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


def settle_open_days(ctx: JobContext, live: LivePredictions) -> int:
    """Fill in the results of every earlier day whose predictions are still open."""
    feed = ctx.feed()
    market = ctx.settings.target
    settled = 0
    for day in live.unsettled_days(ctx.run_for):
        settled += live.settle(day, actual_results(feed, day, market), ctx.run_for)
    return settled


def predict_today(ctx: JobContext, live: LivePredictions) -> dict[str, Any]:
    """Score today's props with the Production version and store the predictions."""
    production = version_by_alias(ctx.client, ctx.model_name, PRODUCTION)
    if production is None:
        return {"predicted": 0, "note": "no Production model yet"}
    feed = ctx.feed()
    today = feed.on_date(ctx.run_for)
    if today.games.empty:
        return {"predicted": 0, "note": f"no games on {ctx.run_for}"}
    served = load_version(ctx.client, production.version, ctx.model_name)
    # Features are provably past-only (tests/features/test_leakage.py), so today's rows may
    # sit in the frame: their own box scores never reach their features.
    visible = feed.known_before(ctx.run_for + ONE_DAY)
    data = prepare(visible, ctx.settings.target, served.feature_set)
    # the population the model was validated on: players with a few games of history
    eligible = data.history_games >= MIN_HISTORY_GAMES
    rows = np.flatnonzero((data.dates == pd.Timestamp(ctx.run_for)).to_numpy() & eligible)
    mu = served.model.predict(data.X.iloc[rows].reset_index(drop=True))
    segments = data.segments.iloc[rows].reset_index(drop=True).assign(prediction=mu)
    lines = today.lines[
        (today.lines["market"] == ctx.settings.target) & (today.lines["snapshot"] == "open")
    ]
    first_book = lines.sort_values("bookmaker").drop_duplicates("player_id")
    scored = segments.merge(first_book[["player_id", "line"]], on="player_id", how="inner")
    scored["p_over"] = served.model.prob_over(
        scored["prediction"].to_numpy(), scored["line"].to_numpy(), scored["tier"].to_numpy()
    )
    scored["market"] = ctx.settings.target
    stored = live.record(ctx.run_for, production.version, scored)
    return {"predicted": stored, "model_version": production.version}


def ingest_day(ctx: JobContext) -> dict[str, Any]:
    """Settle, then predict; returns the job summary."""
    live = LivePredictions(ctx.engine)
    live.ensure_schema()
    settled = settle_open_days(ctx, live)
    return {"settled": settled, **predict_today(ctx, live)}
