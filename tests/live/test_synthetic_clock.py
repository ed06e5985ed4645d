"""The synthetic clock: a day after the synthetic feed stands for a day of its last season."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from jobs.loop.season_clock import season_day
from jobs.loop.tasks import ingest
from nbaprops.settings import Settings

SEASON = [dt.date(2024, 10, 22) + dt.timedelta(days=n) for n in range(0, 170, 2)]  # to 2025-04-09


def test_a_day_in_the_feed_is_itself() -> None:
    assert season_day(dt.date(2024, 12, 3), SEASON) == dt.date(2024, 12, 3)


def test_a_later_day_maps_onto_the_same_calendar_day_of_the_last_season() -> None:
    assert season_day(dt.date(2026, 12, 3), SEASON) == dt.date(2024, 12, 3)
    assert season_day(dt.date(2027, 2, 28), SEASON) == dt.date(2025, 2, 28)
    assert season_day(dt.date(2028, 2, 29), SEASON) == dt.date(2025, 2, 28)


def test_off_season_days_cycle_through_the_season() -> None:
    days = {season_day(dt.date(2026, 7, 1) + dt.timedelta(days=n), SEASON) for n in range(60)}
    assert all(SEASON[0] <= d <= SEASON[-1] for d in days)
    assert len(days) == 60  # consecutive real days are consecutive feed days


def test_the_daemon_s_today_runs_on_the_feed_day(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "state", teams=4, seasons="2023-24,2024-25",
                        _env_file=None)  # type: ignore[call-arg]  # fmt: skip
    result = ingest(settings, dt.date(2026, 12, 3))
    assert result.summary["feed_day"] == "2024-12-03"
    assert result.summary["note"] == "no Production model yet"
    off = Settings(home=tmp_path / "state", teams=4, seasons="2023-24,2024-25",
                   synthetic_clock=False, _env_file=None)  # type: ignore[call-arg]  # fmt: skip
    assert "feed_day" not in ingest(off, dt.date(2026, 12, 3)).summary
