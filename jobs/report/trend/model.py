"""The week-by-week trend of a season as plain, frozen data, and the season's calendar.

One `WeekPoint` per ISO week from the first week with activity to the reported week: what the
lab ran, what the registry gained, how the walk-forward backtests of candidate and champion
came out, and how the Production model did live. None means "nothing to measure that week"
(the chart leaves a gap); counts are 0 instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from jobs.report.model import CalibrationBin, iso_week_bounds, week_of
from nbaprops.seasons import parse_season, season_of

#: A season starts on July 1 (nbaprops.seasons.season_of) and the trend never spans more weeks.
MAX_TREND_WEEKS = 60


@dataclass(frozen=True)
class WeekPoint:
    """One week of the trend; ROI and calibration error are fractions, MAE in points."""

    week: str
    start: dt.date
    runs: int = 0
    registered: int = 0
    best_val_mae: float | None = None
    candidate_roi: float | None = None
    candidate_roi_lower: float | None = None
    champion_roi: float | None = None
    champion_roi_lower: float | None = None
    live_settled: int = 0
    live_mae: float | None = None
    live_bets: int = 0
    live_roi: float | None = None
    live_win_rate: float | None = None
    bankroll_end: float | None = None
    live_ece: float | None = None


@dataclass(frozen=True)
class SeasonTrend:
    """The season's weeks in order, with the live bankroll by day and the live reliability bins."""

    season: str
    weeks: tuple[WeekPoint, ...] = ()
    bankroll: tuple[tuple[dt.date, float], ...] = ()
    calibration: tuple[CalibrationBin, ...] = ()

    @property
    def has_data(self) -> bool:
        """True once any week ran something or settled a live prediction."""
        return any(w.runs or w.registered or w.live_settled for w in self.weeks)


def season_start(season: str) -> dt.date:
    """July 1 of the season's first year ('2024-25' -> 2024-07-01)."""
    return dt.date(parse_season(season), 7, 1)


def season_of_week(week: str) -> str:
    """The season the last day of an ISO week falls in."""
    _, end = iso_week_bounds(week)
    return season_of(end - dt.timedelta(days=1))


def weeks_between(first: dt.date, last_week: str) -> list[str]:
    """ISO week labels from the week of `first` to `last_week` inclusive, at most MAX_TREND_WEEKS
    (the newest ones kept)."""
    monday, _ = iso_week_bounds(week_of(first))
    last_monday, _ = iso_week_bounds(last_week)
    labels = []
    while monday <= last_monday:
        labels.append(week_of(monday))
        monday += dt.timedelta(days=7)
    return labels[-MAX_TREND_WEEKS:]


def this_week_point(trend: SeasonTrend | None, week: str) -> WeekPoint | None:
    """The trend's point of `week`, None when the trend does not reach it."""
    if trend is None:
        return None
    return next((w for w in trend.weeks if w.week == week), None)
