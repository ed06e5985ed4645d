"""Checks and normalisation of lines.csv (sportsbook player props), joined to the game logs.

Lines join to games by player_id when both files carry real ids, else by the normalised
player name (see player_names.normalise_name), using the date when a name is ambiguous.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from nbaprops.data.errors import DataValidationError
from nbaprops.data.feed import LINE_COLUMNS, MARKETS, SNAPSHOTS
from nbaprops.data.player_names import ids_from_text, normalise_name
from nbaprops.data.validate import (
    DATE_DTYPE,
    LINE,
    PLAYER_DAY_ALIASES,
    Distinct,
    ProblemLog,
    blank,
    clean_text,
    describe_aliases,
    future_rows,
    parse_dates,
    parse_numbers,
    resolve_columns,
)
from nbaprops.data.validate_games import GameLog

LINE_ALIASES: dict[str, tuple[str, ...]] = {
    **PLAYER_DAY_ALIASES,
    "market": ("market", "stat", "prop"),
    "line": ("line", "point"),
    "over_price": ("over_price", "over_odds", "over"),
    "under_price": ("under_price", "under_odds", "under"),
    "bookmaker": ("bookmaker", "book", "sportsbook"),
    "snapshot": ("snapshot",),
    "snapshot_ts": ("snapshot_ts", "timestamp", "last_update"),
}
MARKET_ALIASES: dict[str, str] = {
    "PTS": "PTS", "POINTS": "PTS", "PLAYER_POINTS": "PTS",
    "REB": "REB", "REBOUNDS": "REB", "PLAYER_REBOUNDS": "REB",
    "AST": "AST", "ASSISTS": "AST", "PLAYER_ASSISTS": "AST",
    "PRA": "PRA", "PTS+REB+AST": "PRA", "POINTS_REBOUNDS_ASSISTS": "PRA",
    "PLAYER_POINTS_REBOUNDS_ASSISTS": "PRA",
}  # fmt: skip
REQUIRED = ("game_date", "market", "line", "over_price", "under_price", "bookmaker")
MAX_LINE = 150.0
# Opening lines are posted the day before the game, so lines may run one day past as_of.
LINE_DATE_SLACK_DAYS = 1


def parse_lines(
    raw: pd.DataFrame, file: str, game_log: GameLog, as_of: dt.date | None = None
) -> pd.DataFrame:
    """Validate raw lines.csv cells and return canonical lines joined to the games' players."""
    log = ProblemLog(file)
    cols = resolve_columns(raw, LINE_ALIASES, log)
    missing = [c for c in REQUIRED if c not in cols]
    if "player_id" not in cols and "player_name" not in cols:
        missing.append("player_id or player_name")
    for name in missing:
        found = ", ".join(str(c) for c in raw.columns if c != LINE)
        expected = ", ".join(describe_aliases(c, LINE_ALIASES) for c in REQUIRED)
        log.add(
            1,
            None,
            f"column {name} is missing; required: {expected}, player_id or player_name; "
            f"optional: snapshot (open/close), snapshot_ts. Columns found: {found}",
        )
    if log.problems:
        raise DataValidationError(log.problems)
    rows = raw[LINE]
    out = pd.DataFrame(index=raw.index)
    out["game_date"] = parse_dates(raw[cols["game_date"]], rows, cols["game_date"], log)
    future = future_rows(out["game_date"], as_of, LINE_DATE_SLACK_DAYS)
    log.add_cells(
        rows[future],
        raw[cols["game_date"]][future],
        cols["game_date"],
        f"line date {{value!r}} is more than a day after {as_of}; fix the date or remove the row",
    )
    out["market"] = _parse_market(raw[cols["market"]], rows, cols["market"], log)
    out["line"] = _parse_line(raw[cols["line"]], rows, cols["line"], log)
    for side in ("over_price", "under_price"):
        out[side] = _parse_price(raw[cols[side]], rows, cols[side], log)
    books = raw[cols["bookmaker"]]
    empty = blank(books)
    log.add_cells(rows[empty], books[empty], cols["bookmaker"], "the bookmaker is empty")
    out["bookmaker"] = clean_text(books, case="lower")
    out["snapshot"] = _parse_snapshot(raw, cols, log)
    out["snapshot_ts"] = _parse_snapshot_ts(raw, cols, log)
    _join_players(raw, cols, out, game_log, log)
    _check_duplicates(out, rows, log)
    log.raise_if_any()
    lines = out[list(LINE_COLUMNS)]
    return lines.sort_values("game_date", kind="stable").reset_index(drop=True)


def _parse_market(values: pd.Series, rows: pd.Series, column: str, log: ProblemLog) -> pd.Series:
    distinct = Distinct(values)
    key = distinct.text.str.upper().str.replace(r"[\s\-]+", "_", regex=True)
    markets = distinct.spread(key.map(MARKET_ALIASES))
    bad = markets.isna()
    log.add_cells(
        rows[bad],
        values[bad],
        column,
        f"market {{value!r}} is unknown; use one of {', '.join(MARKETS)}",
    )
    return markets.fillna("").astype("str")


def _parse_line(values: pd.Series, rows: pd.Series, column: str, log: ProblemLog) -> pd.Series:
    numbers = parse_numbers(values, rows, column, log, example="24.5")
    empty = blank(values)
    log.add_cells(rows[empty], values[empty], column, "the line is empty")
    silly = (numbers <= 0) | (numbers > MAX_LINE)
    log.add_cells(
        rows[silly],
        values[silly],
        column,
        f"line {{value}} is not a plausible prop line; it must be above 0 and at most {MAX_LINE:g}",
    )
    return numbers.astype("float64")


def _parse_price(values: pd.Series, rows: pd.Series, column: str, log: ProblemLog) -> pd.Series:
    numbers = parse_numbers(values, rows, column, log, example="-110 or +150")
    empty = blank(values)
    log.add_cells(rows[empty], values[empty], column, "the price is empty")
    not_american = numbers.notna() & (numbers > -100) & (numbers < 100)
    fractional = numbers.notna() & ~not_american & (numbers != numbers.round())
    log.add_cells(
        rows[fractional],
        values[fractional],
        column,
        "price {value} is not American odds; they are whole numbers such as -110 or +150",
    )
    log.add_cells(
        rows[not_american],
        values[not_american],
        column,
        "price {value} is not American odds; write e.g. -110 or +150 "
        "(American odds are never between -100 and +100; decimal 1.91 is about -110)",
    )
    return numbers.fillna(0).astype("int64")


def _parse_snapshot(raw: pd.DataFrame, cols: dict[str, str], log: ProblemLog) -> pd.Series:
    """'open' or 'close'; every line is a closing line when the column is absent."""
    if "snapshot" not in cols:
        return pd.Series("close", index=raw.index, dtype="str")
    values = raw[cols["snapshot"]]
    text = clean_text(values, case="lower")
    text = text.where(text != "", "close")
    bad = ~text.isin(SNAPSHOTS)
    log.add_cells(
        raw[LINE][bad],
        values[bad],
        cols["snapshot"],
        f"snapshot {{value!r}} is unknown; use one of {', '.join(SNAPSHOTS)}",
    )
    return text.astype("str")


def _parse_snapshot_ts(raw: pd.DataFrame, cols: dict[str, str], log: ProblemLog) -> pd.Series:
    """When the price was taken; NaT when unknown."""
    if "snapshot_ts" not in cols:
        return pd.Series(pd.NaT, index=raw.index, dtype=DATE_DTYPE)
    values = raw[cols["snapshot_ts"]]
    given = ~blank(values)
    stamps = pd.Series(pd.NaT, index=raw.index, dtype=DATE_DTYPE)
    if given.any():
        column = cols["snapshot_ts"]
        stamps.loc[given] = parse_dates(
            values[given], raw[LINE][given], column, log, kind="timestamp", midnight=False
        )
    return stamps


def _join_players(
    raw: pd.DataFrame, cols: dict[str, str], out: pd.DataFrame, game_log: GameLog, log: ProblemLog
) -> None:
    """Fill player_id and player_name from the games; name every line whose player is unknown."""
    games = game_log.games
    rows = raw[LINE]
    latest_name = games.drop_duplicates("player_id", keep="last").set_index("player_id")
    if "player_id" in cols and game_log.has_given_ids:
        values = raw[cols["player_id"]]
        text = clean_text(values)
        empty = blank(values)
        log.add_cells(rows[empty], values[empty], cols["player_id"], "the player id is empty")
        ids = ids_from_text(text.where(~empty, "0"))
        unknown = ~ids.isin(games["player_id"]) & ~empty
        log.add_cells(
            rows[unknown],
            values[unknown],
            cols["player_id"],
            "player id {value} never appears in games.csv; fix the id or remove the line",
        )
    elif "player_name" in cols and game_log.has_given_names:
        ids = _ids_by_name(raw, cols, out, games, log)
    else:
        given = "player_id" if "player_id" in cols else "player_name"
        log.add(
            1,
            cols[given],
            f"lines.csv identifies players by {given} but games.csv has no {given} column; "
            "give both files the same player column (player_id or player_name)",
        )
        ids = pd.Series(0, index=raw.index)
    out["player_id"] = ids.fillna(0).astype("int64")
    names = out["player_id"].map(latest_name["player_name"])
    out["player_name"] = names.fillna("").astype("str")


def _ids_by_name(
    raw: pd.DataFrame, cols: dict[str, str], out: pd.DataFrame, games: pd.DataFrame, log: ProblemLog
) -> pd.Series:
    """Player ids by normalised name; a name shared by several players is settled by date."""
    values = raw[cols["player_name"]]
    column = cols["player_name"]
    rows = raw[LINE]
    game_keys = _name_keys(games["player_name"])
    ids_by_key = games.groupby(game_keys)["player_id"].unique()
    single = ids_by_key[ids_by_key.map(len) == 1].map(lambda ids: int(ids[0]))
    empty = blank(values)
    keys = _name_keys(clean_text(values))
    ids = keys.map(single)
    log.add_cells(rows[empty], values[empty], column, "the player name is empty")
    unknown = ~keys.isin(ids_by_key.index) & ~empty
    log.add_cells(
        rows[unknown],
        values[unknown],
        column,
        "player {value!r} never appears in games.csv (names match ignoring case, accents, "
        "punctuation and suffixes such as Jr.); fix the name or remove the line",
    )
    shared = ids.isna() & ~unknown & ~empty
    if shared.any():
        played = pd.DataFrame(
            {"key": game_keys, "game_date": games["game_date"], "player_id": games["player_id"]}
        )
        played = played.drop_duplicates(["key", "game_date"], keep=False)
        wanted = pd.DataFrame({"key": keys[shared], "game_date": out["game_date"][shared]})
        found = wanted.reset_index().merge(played, on=["key", "game_date"], how="left")
        ids.loc[found["index"].to_numpy()] = found["player_id"].to_numpy()
        still = shared & ids.isna()
        log.add_cells(
            rows[still],
            values[still],
            column,
            "player {value!r} matches several players in games.csv; add a player_id column "
            "to lines.csv to say which",
        )
    return ids


def _name_keys(names: pd.Series) -> pd.Series:
    """normalise_name of each name, computed once per distinct name."""
    return names.map({name: normalise_name(name) for name in names.unique()})


def _check_duplicates(out: pd.DataFrame, rows: pd.Series, log: ProblemLog) -> None:
    """One price per (date, player, market, bookmaker, snapshot)."""
    key = ["game_date", "player_id", "market", "bookmaker", "snapshot"]
    first = rows.groupby([out[k] for k in key]).transform("first")
    repeated = out.duplicated(key, keep="first") & (out["player_id"] != 0)
    for row, earlier in zip(rows[repeated], first[repeated], strict=True):
        log.add(
            int(row),
            None,
            f"this line repeats line {earlier} (same date, player, market, bookmaker and "
            "snapshot); keep one",
        )
