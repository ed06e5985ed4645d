"""Checks and normalisation of games.csv (game logs) into the canonical games frame.

Accepts the project's own headers and a few well-known aliases (nba_api's GAME_DATE,
PLAYER_ID, TEAM_ABBREVIATION, MATCHUP, SEASON_ID; basketball-reference's MP, TRB, TM).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

from nbaprops.data.errors import DataValidationError, Problem
from nbaprops.data.feed import GAME_COLUMNS, GAME_OPTIONAL, STAT_COLUMNS
from nbaprops.data.player_names import ids_from_names, ids_from_text
from nbaprops.data.validate import (
    LINE,
    PLAYER_DAY_ALIASES,
    ProblemLog,
    blank,
    clean_text,
    describe_aliases,
    future_rows,
    parse_dates,
    parse_flags,
    parse_numbers,
    resolve_columns,
)
from nbaprops.seasons import SeasonError, parse_season, season_label, season_of

GAME_ALIASES: dict[str, tuple[str, ...]] = {
    **PLAYER_DAY_ALIASES,
    "game_id": ("game_id", "gameid"),
    "season": ("season", "season_id", "season_year"),
    "team": ("team", "team_abbreviation", "tm", "team_abbr"),
    "opponent": ("opponent", "opp", "opponent_abbreviation", "opp_team"),
    "home": ("home", "is_home"),
    "matchup": ("matchup",),
    "MIN": ("MIN", "minutes", "mp"),
    "PTS": ("PTS", "points"),
    "REB": ("REB", "trb", "rebounds"),
    "AST": ("AST", "assists"),
    "FGA": ("FGA",),
    "FTA": ("FTA",),
    "TOV": ("TOV", "to", "turnovers"),
    "PRA": ("PRA", "pts_reb_ast", "pts+reb+ast"),
}
# Stats each target needs; PRA is the sum of three.
TARGET_STATS: dict[str, tuple[str, ...]] = {
    "PTS": ("PTS",),
    "REB": ("REB",),
    "AST": ("AST",),
    "PRA": ("PTS", "REB", "AST"),
}
_MATCHUP = re.compile(r"^\s*([A-Za-z]{2,4})\s+(vs\.?|@|at)\s+([A-Za-z]{2,4})\s*$", re.IGNORECASE)
_SEASON_CODE = re.compile(r"^[1-5](\d{4})$")


@dataclass(frozen=True)
class GameLog:
    """The canonical games frame plus what the lines join needs to know about identities."""

    games: pd.DataFrame
    absent: tuple[str, ...]
    has_given_ids: bool
    has_given_names: bool


def parse_games(raw: pd.DataFrame, file: str, target: str, as_of: dt.date | None = None) -> GameLog:
    """Validate raw games.csv cells and return canonical game logs, sorted by game_date.

    Raises DataValidationError listing every problem; a missing required column stops at once.
    """
    log = ProblemLog(file)
    cols = resolve_columns(raw, GAME_ALIASES, log)
    _require_columns(cols, raw, file, target, log)
    rows = raw[LINE]

    def cell(name: str) -> pd.Series:
        return raw[cols[name]]

    out = pd.DataFrame(index=raw.index)
    out["game_date"] = parse_dates(cell("game_date"), rows, cols["game_date"], log)
    future = future_rows(out["game_date"], as_of)
    log.add_cells(
        rows[future],
        cell("game_date")[future],
        cols["game_date"],
        f"game date {{value!r}} is after {as_of}; game logs hold only games already played, "
        "so fix the date or remove the row",
    )
    _parse_players(raw, cols, out, log)
    needed = required_stats(cols, target)
    for stat in STAT_COLUMNS:
        if stat in cols:
            out[stat] = _parse_stat(cell(stat), rows, cols[stat], stat, needed, target, log)
    _parse_teams(raw, cols, out, log)
    _parse_season(raw, cols, out, log)
    _parse_game_id(raw, cols, out)
    _check_duplicates(out, rows, cols, log)
    log.raise_if_any()

    games = out[[c for c in GAME_COLUMNS if c in out.columns]]
    games = games.sort_values("game_date", kind="stable").reset_index(drop=True)
    absent = tuple(c for c in GAME_OPTIONAL if c not in games.columns)
    return GameLog(games, absent, "player_id" in cols, "player_name" in cols)


def _require_columns(
    cols: dict[str, str], raw: pd.DataFrame, file: str, target: str, log: ProblemLog
) -> None:
    """Stop at once when a required column is absent, naming what is expected."""
    missing = [c for c in ("game_date", *required_stats(cols, target)) if c not in cols]
    if "player_id" not in cols and "player_name" not in cols:
        missing.append("player_id or player_name")
    if not missing and not log.problems:
        return
    found = ", ".join(str(c) for c in raw.columns if c != LINE)
    expected = (
        f"required: {describe_aliases('game_date', GAME_ALIASES)}, player_id or player_name, "
        f"{_target_wording(target)} (target {target}); optional: "
        f"{', '.join(c for c in GAME_OPTIONAL if c not in TARGET_STATS[target])}, MATCHUP"
    )
    problems = list(log.problems)
    problems += [
        Problem(file, 1, None, f"column {name} is missing; {expected}. Columns found: {found}")
        for name in missing
    ]
    raise DataValidationError(problems)


def required_stats(cols: dict[str, str], target: str) -> tuple[str, ...]:
    """The stat columns a target needs: PRA alone, when given, is enough for target PRA."""
    if target == "PRA" and "PRA" in cols:
        return ("PRA",)
    return TARGET_STATS[target]


def _target_wording(target: str) -> str:
    return "PRA, or PTS, REB and AST" if target == "PRA" else ", ".join(TARGET_STATS[target])


def _parse_players(
    raw: pd.DataFrame, cols: dict[str, str], out: pd.DataFrame, log: ProblemLog
) -> None:
    """player_id as given (text ids get a stable number) or derived from the name."""
    rows = raw[LINE]
    if "player_name" in cols:
        names = clean_text(raw[cols["player_name"]])
        empty = blank(raw[cols["player_name"]])
        if "player_id" not in cols:
            log.add_cells(
                rows[empty], names[empty], cols["player_name"], "the player name is empty"
            )
    if "player_id" in cols:
        ids_text = clean_text(raw[cols["player_id"]])
        empty_id = blank(raw[cols["player_id"]])
        log.add_cells(
            rows[empty_id],
            ids_text[empty_id],
            cols["player_id"],
            "the player id is empty; fill it in, or remove the column to match players by name",
        )
        out["player_id"] = ids_from_text(ids_text.where(~empty_id, "0"))
        if "player_name" in cols:
            out["player_name"] = names.where(~empty, ids_text)
        else:
            out["player_name"] = ids_text
    else:
        out["player_id"] = ids_from_names(names.where(~empty, ""))
        out["player_name"] = names
    out["player_name"] = out["player_name"].astype("str")


def _parse_stat(
    values: pd.Series,
    rows: pd.Series,
    header: str,
    stat: str,
    needed: tuple[str, ...],
    target: str,
    log: ProblemLog,
) -> pd.Series:
    """One box-score column: numeric, non-negative, never empty; counts are whole numbers."""
    whole = None if stat == "MIN" else "box-score counts are whole numbers"
    example = "34 or 34:12" if stat == "MIN" else "23"
    numbers = parse_numbers(
        values, rows, header, log, example=example, whole=whole, minutes=stat == "MIN"
    )
    empty = blank(values)
    if stat in needed:
        message = (
            f"{stat} is empty or NaN; every row needs its {stat} because the target is {target} "
            "(drop rows of players who did not play)"
        )
    else:
        message = f"{stat} is empty; fill it in, or remove the whole {stat} column"
    log.add_cells(rows[empty], values[empty], header, message)
    negative = numbers < 0
    log.add_cells(
        rows[negative], values[negative], header, f"{stat} is {{value}}; it cannot be negative"
    )
    if stat == "MIN":
        return numbers.fillna(0.0).astype("float64")
    return numbers.fillna(0).astype("int64")


def _parse_teams(
    raw: pd.DataFrame, cols: dict[str, str], out: pd.DataFrame, log: ProblemLog
) -> None:
    """team, opponent and home from their own columns, else from an nba_api MATCHUP."""
    rows = raw[LINE]
    from_matchup: pd.DataFrame | None = None
    if "matchup" in cols and not {"team", "opponent", "home"} <= cols.keys():
        values = raw[cols["matchup"]]
        parts = clean_text(values).str.extract(_MATCHUP)
        bad = parts[0].isna()
        log.add_cells(
            rows[bad],
            values[bad],
            cols["matchup"],
            "{value!r} is not a matchup; write it as 'BOS vs. NYK' (home) or 'BOS @ NYK' (away)",
        )
        home = parts[1].str.lower().str.startswith("vs").astype("float64")
        from_matchup = pd.DataFrame({"team": parts[0], "opponent": parts[2], "home": home})
    for name in ("team", "opponent"):
        if name in cols:
            values = raw[cols[name]]
            empty = blank(values)
            log.add_cells(
                rows[empty],
                values[empty],
                cols[name],
                f"the {name} is empty; fill it in, or remove the whole column",
            )
            out[name] = clean_text(values, case="upper")
        elif from_matchup is not None:
            out[name] = from_matchup[name].fillna("").str.upper().astype("str")
    if "home" in cols:
        out["home"] = parse_flags(raw[cols["home"]], rows, cols["home"], log)
    elif from_matchup is not None:
        out["home"] = from_matchup["home"]
    if "home" in out.columns:
        out["home"] = out["home"].fillna(0).astype("int64")


def _parse_season(
    raw: pd.DataFrame, cols: dict[str, str], out: pd.DataFrame, log: ProblemLog
) -> None:
    """Season labels as given ('2024-25' or nba_api's '22024'), else from the game date."""
    days = out["game_date"]
    labels_by_day = {day: season_of(day.date()) for day in days.dropna().unique()}
    derived = days.map(labels_by_day).fillna("").astype("str")
    if "season" not in cols:
        out["season"] = derived.astype("str")
        return
    values = raw[cols["season"]]
    empty = blank(values)
    labels: dict[str, str | None] = {}
    text_values = clean_text(values)
    for text in text_values[~empty].unique():
        labels[text] = _season_label(text)
    given = text_values.map(labels)
    bad = given.isna() & ~empty
    log.add_cells(
        raw[LINE][bad],
        values[bad],
        cols["season"],
        "{value!r} is not a season; write it as 2024-25, or remove the column to derive it",
    )
    out["season"] = given.where(~empty, derived).fillna("").astype("str")
    # In date order the season labels never go back: a later game of an earlier season means
    # a wrong date or a wrong label (seasons only ever follow each other).
    start = pd.to_numeric(out["season"].str[:4], errors="coerce")
    in_order = out["game_date"].dropna().sort_values(kind="stable").index
    behind = (start[in_order] < start[in_order].cummax()).reindex(out.index, fill_value=False)
    log.add_cells(
        raw[LINE][behind],
        values[behind],
        cols["season"],
        "season {value!r} is out of date order: an earlier game_date already belongs to a "
        "later season; fix this row's game_date or season, or remove the column to derive it",
    )


def _season_label(text: str) -> str | None:
    """'2024-25' checked, or nba_api's SEASON_ID code '22024' turned into '2024-25'."""
    code = _SEASON_CODE.match(text)
    if code:
        return season_label(int(code.group(1)))
    try:
        parse_season(text)
    except SeasonError:
        return None
    return text


def _parse_game_id(raw: pd.DataFrame, cols: dict[str, str], out: pd.DataFrame) -> None:
    """game_id as given, else date plus both teams (or date plus player without teams)."""
    day = out["game_date"].dt.strftime("%Y%m%d").fillna("")
    if "team" in out.columns and "opponent" in out.columns:
        team, opponent = out["team"], out["opponent"]
        first = team.where(team <= opponent, opponent)
        second = opponent.where(team <= opponent, team)
        derived = day + "-" + first + "-" + second
    elif "team" in out.columns:
        derived = day + "-" + out["team"]
    else:
        derived = day + "-P" + out["player_id"].astype("str")
    if "game_id" in cols:
        values = raw[cols["game_id"]]
        out["game_id"] = clean_text(values).where(~blank(values), derived)
    else:
        out["game_id"] = derived
    out["game_id"] = out["game_id"].astype("str")


def _check_duplicates(
    out: pd.DataFrame, rows: pd.Series, cols: dict[str, str], log: ProblemLog
) -> None:
    """A player plays at most once a day: name every repeated player-date."""
    key = ["player_id", "game_date"]
    keyed = pd.DataFrame(
        {"player_id": out["player_id"], "game_date": out["game_date"], "row": rows}
    ).dropna(subset=["game_date"])
    keyed["first"] = keyed.groupby(key)["row"].transform("first")
    repeated = keyed[keyed.duplicated(key, keep="first")]
    column = cols.get("player_id", cols.get("player_name"))
    names = out.loc[repeated.index, "player_name"]
    for row, first, day, name in zip(
        repeated["row"], repeated["first"], repeated["game_date"], names, strict=True
    ):
        log.add(
            int(row),
            column,
            f"player {name!r} already has a game on {day:%Y-%m-%d} (line {first}); "
            "a player plays at most once a day, so remove the duplicate row",
        )
