"""Build the configured fetchers from settings and run them into the data folder."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from nbaprops.data.fetch.http import FetchError, PoliteClient
from nbaprops.data.fetch.nba_stats import NbaStatsSource
from nbaprops.data.fetch.odds_api import KEY_VARIABLE, OddsApiSource
from nbaprops.data.fetch.sources import FetchSource
from nbaprops.data.fetch.store import store
from nbaprops.settings import Settings

KNOWN_SOURCES = ("nba", "odds")


def configured_sources(settings: Settings, today: dt.date) -> list[FetchSource]:
    """The sources NBAPROPS_FETCH_SOURCES names (empty: none, the folder is read as it is)."""
    names = [n.strip().lower() for n in settings.fetch_sources.split(",") if n.strip()]
    unknown = [n for n in names if n not in KNOWN_SOURCES]
    if unknown:
        raise FetchError(
            f"NBAPROPS_FETCH_SOURCES names {', '.join(unknown)}; use nba, odds or both"
        )
    sources: list[FetchSource] = []

    def client(variable: str = "") -> PoliteClient:
        return PoliteClient(min_interval=settings.fetch_min_interval,
                            retries=settings.fetch_retries, auth_variable=variable)  # fmt: skip

    if "nba" in names:
        sources.append(NbaStatsSource(settings.nba_stats_url, client()))
    if "odds" in names:
        if settings.odds_api_key is None:
            raise FetchError(f"the odds source needs a key: set {KEY_VARIABLE}")
        sources.append(OddsApiSource(settings.odds_api_url,
                                     settings.odds_api_key.get_secret_value(), client(KEY_VARIABLE),
                                     settings.odds_markets, settings.odds_regions,
                                     today=lambda: today))  # fmt: skip
    return sources


def data_folder(settings: Settings) -> Path:
    """Where fetched data lands: NBAPROPS_DATA, which must then be a folder."""
    if settings.data.strip().lower() == "synthetic":
        raise FetchError("fetching needs a data folder: set NBAPROPS_DATA=/path/to/folder")
    return Path(settings.data).expanduser()


@dataclass(frozen=True)
class FetchOutcome:
    """What one fetch did: its summary, and why it fetched nothing when it skipped."""

    summary: dict[str, object]
    skipped_because: str | None = None


NO_SOURCE = "no source configured (NBAPROPS_FETCH_SOURCES)"


def fetch_days(settings: Settings, since: dt.date, until: dt.date, today: dt.date) -> FetchOutcome:
    """Fetch since..until from every configured source into the folder; skipped (nothing
    fetched, the folder read as it is) when no source is configured."""
    sources = configured_sources(settings, today)
    if not sources:
        return FetchOutcome({"fetched": 0, "note": NO_SOURCE}, skipped_because=NO_SOURCE)
    folder = data_folder(settings)
    fetched = [source.fetch(since, until) for source in sources]
    summary: dict[str, object] = {"since": since.isoformat(), "until": until.isoformat()}
    for result in fetched:
        summary.update(result.summary)
    summary.update(store(fetched, folder, settings.target))
    return FetchOutcome(summary)
