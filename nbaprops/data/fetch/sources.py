"""The one interface every fetcher implements, and what a fetch returns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd


@dataclass
class Fetched:
    """Raw frames from one source: nba_api game-log rows, the slate, odds-scrape lines
    (player_name, event_id, event_date, home_team, away_team, bookmaker, line, timestamp,
    over_price, under_price, market), and a summary for the job (counts, quota headers)."""

    games: pd.DataFrame | None = None
    schedule: pd.DataFrame | None = None
    lines: pd.DataFrame | None = None
    summary: dict[str, object] = field(default_factory=dict)


class FetchSource(Protocol):
    """A source of new data for the days since..until (inclusive)."""

    name: str

    def fetch(self, since: dt.date, until: dt.date) -> Fetched:
        """Everything this source has for those days."""
        ...


def days(since: dt.date, until: dt.date) -> list[dt.date]:
    """Every day from since to until, inclusive."""
    return [since + dt.timedelta(days=n) for n in range((until - since).days + 1)]


def season_label(day: dt.date) -> str:
    """NBA season of a date: July onwards starts a new one (2025-01-20 -> 2024-25)."""
    start = day.year if day.month >= 7 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"
