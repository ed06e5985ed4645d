"""Which game of the game logs each odds event is, and so its US date.

An odds API dates an event in UTC: a 10:30 pm Eastern tip-off is the next day there. When the
commence time is given it is turned into the Eastern date. Otherwise the event's date and the
day before are both tried, and the game that holds most of the event's named players wins,
provided it holds a strict majority of them (a team on a back-to-back cannot move an event to
the wrong day on half its players). Events after the game logs' last day are upcoming: their
games have not been played, so they are kept for pre-game scoring, not set aside.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

US_TIMEZONE = "America/New_York"
# Players seen this many days before an upcoming event count as its candidates by initials.
ACTIVE_DAYS = 30


@dataclass(frozen=True)
class EventGame:
    """What an event is in the game logs: a played game, an upcoming one, or not covered."""

    status: str  # "played", "upcoming" or "uncovered"
    game_date: pd.Timestamp | None
    game_id: str
    pool: frozenset[int]  # players who may be meant by initials
    reason: str = ""
    kind: str = ""


class GameIndex:
    """Who played in which game on which day, from the canonical game logs."""

    def __init__(self, games: pd.DataFrame) -> None:
        self.games = games
        self.first = games["game_date"].min()
        self.last = games["game_date"].max()
        self.days = set(games["game_date"].unique())
        key = games["game_id"] if "game_id" in games.columns else games["game_date"].astype(str)
        frame = pd.DataFrame(
            {"d": games["game_date"], "g": key.astype(str), "p": games["player_id"].astype(int)}
        )
        self.by_day: dict[pd.Timestamp, dict[str, frozenset[int]]] = {}
        for (day, game), players in frame.groupby(["d", "g"])["p"]:
            self.by_day.setdefault(pd.Timestamp(str(day)), {})[str(game)] = frozenset(players)
        self._team = (
            games.drop_duplicates("player_id", keep="last").set_index("player_id")["team"]
            if "team" in games.columns
            else None
        )

    def decide(
        self,
        date: pd.Timestamp,
        commence: pd.Timestamp | None,
        named: frozenset[int],
        teams: tuple[str, str],
    ) -> EventGame:
        """The event's game, from its date (or commence time) and the players it names."""
        if commence is not None and not pd.isna(commence):
            eastern = commence.tz_localize("UTC").tz_convert(US_TIMEZONE)
            candidates = [pd.Timestamp(eastern.date())]
        else:
            candidates = [date, date - pd.Timedelta(days=1)]
        best: tuple[int, pd.Timestamp, str, frozenset[int]] | None = None
        for day in candidates:
            for game, players in self.by_day.get(day, {}).items():
                count = len(players & named)
                if count and (best is None or count > best[0]):
                    best = (count, day, game, players)
        if best is not None and 2 * best[0] > len(named):
            return EventGame("played", best[1], best[2], best[3])
        day = candidates[0]
        if day > self.last:
            return EventGame("upcoming", day, "", self._active(day, teams))
        if day < self.first:
            reason = f"the game logs start on {self.first.date()}, after this event"
            return EventGame("uncovered", day, "", frozenset(), reason, "before the game logs")
        if day not in self.days:
            reason = f"the game logs hold no game on {day.date()}"
            return EventGame("uncovered", day, "", frozenset(), reason, "no games that day")
        reason = "no game in the game logs holds this event's players on its date or the day before"
        return EventGame("uncovered", day, "", frozenset(), reason, "game not in the game logs")

    def _active(self, day: pd.Timestamp, teams: tuple[str, str]) -> frozenset[int]:
        """Players of an upcoming event's teams (when the logs have teams), seen lately."""
        recent = self.games[self.games["game_date"] >= day - pd.Timedelta(days=ACTIVE_DAYS)]
        players = set(recent["player_id"].astype(int))
        if self._team is not None and all(teams):
            players = {p for p in players if self._team.get(p) in teams}
        return frozenset(players)


def eastern_date(commence: pd.Series) -> pd.Series:
    """Eastern calendar dates of UTC commence times (NaT stays NaT)."""
    local = commence.dt.tz_localize("UTC").dt.tz_convert(US_TIMEZONE)
    return local.dt.tz_localize(None).dt.normalize()


def team_codes(names: pd.Series, known: Mapping[str, str]) -> pd.Series:
    """Team abbreviations from full names ("Denver Nuggets" -> DEN); codes pass through."""
    lookup = {k.lower(): v for k, v in known.items()}
    lookup |= {v.lower(): v for v in known.values()}
    text = names.fillna("").astype(str).str.strip()
    return text.str.lower().map(lookup).fillna(text.str.upper()).astype("str")
