"""NBA.com stats through nba_api: player box scores (LeagueGameLog, player mode) and the
league schedule (ScheduleLeagueV2). nba_api builds the endpoint names and parameters and
parses the game log; the calls go through the polite client so retries and rate limits
apply (NBAStatsHTTP.base_url is replaced by the nba_stats_url setting)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
from nba_api.stats.endpoints import LeagueGameLog, ScheduleLeagueV2
from nba_api.stats.library.http import STATS_HEADERS, NBAStatsResponse

from nbaprops.data.feed import SCHEDULE_COLUMNS
from nbaprops.data.fetch.http import FetchError, PoliteClient
from nbaprops.data.fetch.sources import Fetched, season_label


@dataclass
class NbaStatsSource:
    """Box scores and the slate of each season touched by since..until."""

    base_url: str
    client: PoliteClient
    name: str = "nba"

    def fetch(self, since: dt.date, until: dt.date) -> Fetched:
        """Game logs dated since..until and the scheduled games of those days."""
        seasons = sorted({season_label(since), season_label(until)})
        logs = [self._game_log(season, since, until) for season in seasons]
        slates = [self._schedule(season) for season in seasons]
        games = pd.concat(logs, ignore_index=True)
        played = pd.to_datetime(games["GAME_DATE"], errors="coerce")
        games = games[(played >= pd.Timestamp(since)) & (played <= pd.Timestamp(until))]
        schedule = pd.concat(slates, ignore_index=True)
        dates = pd.to_datetime(schedule["game_date"])
        schedule = schedule[(dates >= pd.Timestamp(since)) & (dates <= pd.Timestamp(until))]
        summary: dict[str, object] = {
            "nba_game_log_rows": len(games),
            "nba_scheduled_games": len(schedule),
        }
        return Fetched(games=games, schedule=schedule.reset_index(drop=True), summary=summary)

    def _call(self, endpoint: str, parameters: dict[str, Any]) -> Any:
        self.client.headers = {**STATS_HEADERS, **self.client.headers}
        return self.client.get_json(f"{self.base_url.rstrip('/')}/{endpoint}", parameters)

    def _game_log(self, season: str, since: dt.date, until: dt.date) -> pd.DataFrame:
        request = LeagueGameLog(
            player_or_team_abbreviation="P",
            season=season,
            direction="ASC",
            date_from_nullable=since.strftime("%m/%d/%Y"),
            date_to_nullable=until.strftime("%m/%d/%Y"),
            get_request=False,
        )
        body = self._call(request.endpoint, request.parameters)
        response = NBAStatsResponse(response=json.dumps(body), status_code=200, url="")
        data = response.get_data_sets().get("LeagueGameLog")
        if data is None:
            raise FetchError("NBA stats leaguegamelog answered without a LeagueGameLog set")
        return pd.DataFrame(data["data"], columns=data["headers"]).astype("str")

    def _schedule(self, season: str) -> pd.DataFrame:
        request = ScheduleLeagueV2(season=season, get_request=False)
        body = self._call(request.endpoint, request.parameters)
        try:
            game_dates = body["leagueSchedule"]["gameDates"]
            rows = [
                {
                    "game_date": str(game["gameDateEst"])[:10],
                    "game_id": str(game["gameId"]),
                    "home_team": str(game["homeTeam"]["teamTricode"]),
                    "away_team": str(game["awayTeam"]["teamTricode"]),
                    "tipoff_utc": str(game.get("gameDateTimeUTC") or ""),
                }
                for day in game_dates
                for game in day["games"]
            ]
        except (KeyError, TypeError) as exc:
            raise FetchError(f"NBA stats scheduleleaguev2 answer lacks {exc}") from None
        return pd.DataFrame(rows, columns=list(SCHEDULE_COLUMNS))
