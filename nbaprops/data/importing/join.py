"""Join each scraped line to a player and a game: joined, void, upcoming or set aside.

- joined: the player played in the event's game;
- void: a known player who did not play in it (no bet, no loss; kept in lines.csv);
- upcoming: the game is after the game logs' last day (kept for pre-game scoring);
- set aside: no player or several players fit, or the logs do not cover the event's day.
"""

from __future__ import annotations

import pandas as pd

from nbaprops.data.importing.events import EventGame, GameIndex, team_codes
from nbaprops.data.importing.names import Match, PlayerNames

UNKNOWN = "unknown player"
# player_id, step, status, game_date, game_id, reason, kind
Joined = tuple[int, str, str, pd.Timestamp | None, str, str, str]
AMBIGUOUS = "ambiguous player"


def join_lines(
    rows: pd.DataFrame, index: GameIndex, names: PlayerNames, teams: dict[str, str]
) -> pd.DataFrame:
    """`rows` (from read_raw_lines) plus player_id, step, status, game_date, game_id, kind."""
    out = rows.copy()
    out["home_code"] = team_codes(out["home_team"], teams)
    out["away_code"] = team_codes(out["away_team"], teams)
    pairs = out[["raw_name", "player_id_given"]].drop_duplicates().itertuples(index=False)
    fixed = {(name, given): _given_or_fixed(name, given, names) for name, given in pairs}
    events = _decide_events(out, fixed, index)
    results: list[Joined] = []
    for row in out.itertuples(index=False):
        name, given, reason = str(row.raw_name), str(row.player_id_given), str(row.reason)
        event = events.get(str(row.event))
        if reason or event is None:
            text = str(row.event_date)
            day = None if text in ("NaT", "nan", "None") else pd.Timestamp(text)
            results.append((0, "", "set aside", day, "", reason, reason))
        else:
            results.append(_one(name, fixed[(name, given)], event, names))
    columns = list(zip(*results, strict=True)) if results else [()] * 7
    out["player_id"] = pd.Series(columns[0], index=out.index, dtype="int64")
    for position, column in enumerate(("step", "status"), start=1):
        out[column] = pd.Series(columns[position], index=out.index, dtype="str")
    out["game_date"] = pd.to_datetime(pd.Series(columns[3], index=out.index, dtype="object"))
    for position, column in enumerate(("game_id", "reason", "kind"), start=4):
        out[column] = pd.Series(columns[position], index=out.index, dtype="str")
    return out


def _given_or_fixed(name: str, given: str, names: PlayerNames) -> Match | None:
    if given.isdigit() and names.known(int(given)):
        return Match((int(given),), "player id")
    return names.fixed(name) if name else None


def _decide_events(
    rows: pd.DataFrame, fixed: dict[tuple[str, str], Match | None], index: GameIndex
) -> dict[str, EventGame]:
    """One decision per event, from the players its good rows name unambiguously."""
    good = rows[rows["reason"] == ""]
    decided: dict[str, EventGame] = {}
    for event, group in good.groupby("event", sort=False):
        named = frozenset(
            m.ids[0]
            for key in set(zip(group["raw_name"], group["player_id_given"], strict=True))
            if (m := fixed[key]) is not None and len(m.ids) == 1
        )
        first = group.iloc[0]
        commence = group["commence"].dropna()
        decided[str(event)] = index.decide(
            pd.Timestamp(first["event_date"]),
            None if commence.empty else pd.Timestamp(commence.iloc[0]),
            named,
            (str(first["home_code"]), str(first["away_code"])),
        )
    return decided


def _one(raw: str, match: Match | None, event: EventGame, names: PlayerNames) -> Joined:
    """The join of one row of a decided event."""
    date, game = event.game_date, event.game_id
    if event.status == "uncovered":
        return 0, "", "set aside", date, game, event.reason, event.kind
    match = match or names.in_game(raw, event.pool) or names.by_nickname(raw)
    if match is None:
        reason = f"{raw!r} matches no player in the game logs; add it to an --aliases file"
        return 0, "", "set aside", date, game, reason, UNKNOWN
    in_pool = [p for p in match.ids if p in event.pool]
    if len(in_pool) == 1 or (len(match.ids) == 1 and not in_pool):
        player = in_pool[0] if in_pool else match.ids[0]
        played = bool(in_pool) if event.status == "played" else None
        status = "upcoming" if played is None else ("joined" if played else "void")
        return player, match.step, status, date, game, "", ""
    shown = in_pool if len(in_pool) > 1 else list(match.ids)
    candidates = " and ".join(f"{names.display.get(p, p)} ({p})" for p in shown)
    reason = f"{raw!r} fits {candidates}; add it to an --aliases file to say which"
    return 0, match.step, "set aside", date, game, reason, AMBIGUOUS
