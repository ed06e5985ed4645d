"""The synthetic clock: today's date mapped onto a day of the synthetic feed's last season.

The synthetic feed ends in a past season, so a daemon started today would find no games and
no lines. With the clock, a day after the feed's last game stands for the same calendar day
of its last season (2026-12-03 -> 2024-12-03), whose slate and opening lines are "posted" that
morning and whose box scores arrive the next, exactly as live data would. Days of the
off-season cycle through the season so that the loop keeps working all year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence


def season_day(day: dt.date, game_days: Sequence[dt.date]) -> dt.date:
    """The feed day that stands for `day` (itself when the feed reaches that far)."""
    if not game_days or day <= max(game_days):
        return day
    last = max(game_days)
    start_year = last.year if last.month >= 7 else last.year - 1
    season = sorted(d for d in game_days if d >= dt.date(start_year, 7, 1))
    first = season[0]
    year = start_year if day.month >= 7 else start_year + 1
    try:
        same = dt.date(year, day.month, day.day)
    except ValueError:  # 29 February in a common year
        same = dt.date(year, day.month, 28)
    if first <= same <= last:
        return same
    return first + dt.timedelta(days=day.toordinal() % ((last - first).days + 1))
