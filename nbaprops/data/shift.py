"""What-if transforms of a feed, for demonstrating drift: a scoring regime that changes mid-season.

The book's lines are left as they were (the market has not caught up yet), which is exactly the
situation in which a deployed model's live error rises and the monitor has to react.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd

from nbaprops.data.feed import Feed


class ShiftSpecError(ValueError):
    """A scoring-shift setting that is not DATE:FACTOR."""


def parse_scoring_shift(text: str) -> tuple[dt.date, float]:
    """'2025-01-15:1.3' -> (date, factor)."""
    day, sep, factor = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return dt.date.fromisoformat(day), float(factor)
    except ValueError as exc:
        raise ShiftSpecError(
            f"scoring shift {text!r} is not DATE:FACTOR, e.g. 2025-01-15:1.3"
        ) from exc


def with_scoring_shift(feed: Feed, start: dt.date, factor: float) -> Feed:
    """Points (and shot volume) scaled by `factor` from `start` on; earlier rows untouched."""
    games = feed.games.copy()
    after = games["game_date"] >= pd.Timestamp(start)
    scale = np.where(after.to_numpy(), factor, 1.0)
    for column in ("PTS", "FGA", "FTA"):
        if column in games:
            values = games[column].to_numpy(dtype=float)
            games[column] = np.round(values * scale).astype(np.int64)
    return replace(feed, games=games, source=f"{feed.source}+scoring_shift")
