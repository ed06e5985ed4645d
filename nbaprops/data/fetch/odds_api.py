"""The Odds API v4: NBA events and their player-prop odds in American format, current for
today and later, historical (a snapshot on the morning of the day) for earlier days.
Rows come out in the odds-scrape raw columns the importer reads; quota headers
(x-requests-remaining/used/last) go into the summary. The key is sent, never logged."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from nbaprops.data.fetch.http import PoliteClient
from nbaprops.data.fetch.sources import Fetched, days

SPORT = "basketball_nba"
KEY_VARIABLE = "NBAPROPS_ODDS_API_KEY"
EASTERN = zoneinfo.ZoneInfo("America/New_York")
SNAPSHOT_UTC = dt.time(16, 0)  # 11:00 Eastern: the morning's lines are posted
RAW_COLUMNS = ("player_name", "event_id", "event_date", "home_team", "away_team", "bookmaker",
               "line", "timestamp", "over_price", "under_price", "market",
               "commence_time")  # fmt: skip
QUOTA_HEADERS = ("x-requests-remaining", "x-requests-used", "x-requests-last")


@dataclass
class OddsApiSource:
    """Player props of every NBA event on since..until; `today` splits historical/current."""

    base_url: str
    api_key: str
    client: PoliteClient
    markets: str
    regions: str = "us"
    today: Callable[[], dt.date] = field(default=lambda: dt.datetime.now(EASTERN).date())
    name: str = "odds"

    def fetch(self, since: dt.date, until: dt.date) -> Fetched:
        """All lines of the events on those days (Eastern dates)."""
        rows: list[dict[str, Any]] = []
        events = 0
        for day in days(since, until):
            historical = day < self.today()
            for event in self._events(day, historical):
                events += 1
                rows.extend(self._event_rows(event, day, historical))
        lines = pd.DataFrame(rows, columns=list(RAW_COLUMNS))
        summary: dict[str, object] = {"odds_events": events, "odds_line_rows": len(lines)}
        for header in QUOTA_HEADERS:
            if header in self.client.last_headers:
                summary[header.replace("-", "_")] = self.client.last_headers[header]
        return Fetched(lines=lines, summary=summary)

    def _url(self, historical: bool, *parts: str) -> str:
        prefix = "v4/historical/sports" if historical else "v4/sports"
        return "/".join([self.base_url.rstrip("/"), prefix, SPORT, *parts])

    def _events(self, day: dt.date, historical: bool) -> list[dict[str, Any]]:
        start = dt.datetime.combine(day, dt.time(0), EASTERN).astimezone(dt.UTC)
        params: dict[str, Any] = {
            "apiKey": self.api_key,
            "commenceTimeFrom": _iso(start),
            "commenceTimeTo": _iso(start + dt.timedelta(days=1)),
        }
        if historical:
            params["date"] = _iso(dt.datetime.combine(day, SNAPSHOT_UTC, dt.UTC))
        body = self.client.get_json(self._url(historical, "events"), params)
        events = body["data"] if historical else body
        return [e for e in events if _eastern_date(e["commence_time"]) == day]

    def _event_rows(
        self, event: dict[str, Any], day: dt.date, historical: bool
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"apiKey": self.api_key, "regions": self.regions,
                                  "markets": self.markets, "oddsFormat": "american"}  # fmt: skip
        if historical:
            params["date"] = _iso(dt.datetime.combine(day, SNAPSHOT_UTC, dt.UTC))
        body = self.client.get_json(self._url(historical, "events", event["id"], "odds"), params)
        odds = body["data"] if historical else body
        rows: list[dict[str, Any]] = []
        for book in odds.get("bookmakers", []):
            for market in book.get("markets", []):
                prices: dict[tuple[str, float], dict[str, Any]] = {}
                for outcome in market.get("outcomes", []):
                    key = (str(outcome.get("description", "")), float(outcome["point"]))
                    side = "over_price" if outcome["name"].lower() == "over" else "under_price"
                    prices.setdefault(key, {})[side] = int(outcome["price"])
                for (player, point), sides in prices.items():
                    if len(sides) < 2:
                        continue
                    rows.append({
                        "player_name": player, "event_id": event["id"],
                        "event_date": day.isoformat(), "home_team": odds["home_team"],
                        "away_team": odds["away_team"], "bookmaker": book["key"], "line": point,
                        "timestamp": market.get("last_update") or book.get("last_update"),
                        "market": market["key"], "commence_time": event["commence_time"],
                        **sides,
                    })  # fmt: skip
        return rows


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _eastern_date(stamp: str) -> dt.date:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(EASTERN).date()
