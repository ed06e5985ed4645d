"""Read an odds-API scrape as it comes: columns by alias, prices as American odds, UTC dates.

A row that cannot become a line (empty or impossible price, empty name, unreadable date) is
not fatal: it is set aside with a reason, for DIR/rejects/lines.csv. Only a file that is not
an odds scrape at all (a required column missing, unreadable CSV) stops the import.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from nbaprops.data.errors import DataValidationError, Problem
from nbaprops.data.validate import (
    LINE,
    ProblemLog,
    clean_text,
    describe_aliases,
    read_table,
    resolve_columns,
)
from nbaprops.data.validate_lines import MARKET_ALIASES, MAX_LINE

OddsFormat = Literal["auto", "american", "decimal"]

RAW_ALIASES: dict[str, tuple[str, ...]] = {
    "player_name": ("player_name", "player", "name", "description"),
    "player_id": ("player_id", "playerid", "person_id"),
    "event_id": ("event_id", "event", "id"),
    "event_date": ("event_date", "game_date", "date", "gamedate"),
    "commence_time": ("commence_time", "commence", "tipoff_utc", "start_time"),
    "home_team": ("home_team", "home"),
    "away_team": ("away_team", "away"),
    "market": ("market", "market_key", "stat", "prop"),
    "bookmaker": ("bookmaker", "book", "sportsbook"),
    "line": ("line", "point"),
    "timestamp": ("timestamp", "last_update", "snapshot_ts"),
    "over_price": ("over_price", "over_odds", "over"),
    "under_price": ("under_price", "under_odds", "under"),
}
REQUIRED = ("event_date", "bookmaker", "line", "over_price", "under_price")
# Decimal odds of real prop markets lie in this range; American odds never do.
DECIMAL_RANGE = (1.01, 30.0)


@dataclass(frozen=True)
class RawLines:
    """The scrape's rows as typed columns, with `reason` set on the rows to set aside.

    Columns: row (line in the file), raw_name, player_id_given, event, event_date, commence,
    home_team, away_team, market, bookmaker, line, over_price, under_price, timestamp, reason.
    """

    file: str
    rows: pd.DataFrame
    read: int
    exact_duplicates: int
    odds_format: str
    original: pd.DataFrame


def read_raw_lines(path: Path, market: str | None, odds: OddsFormat = "auto") -> RawLines:
    """Parse the scrape at `path`; `market` fills a missing market column (e.g. PRA)."""
    return parse_raw_lines(read_table(path, "sportsbook lines (an odds scrape)"), str(path),
                           market, odds)  # fmt: skip


def table_of(frame: pd.DataFrame) -> pd.DataFrame:
    """Fetched rows as read_table would give them: text cells plus the LINE column."""
    table = frame.astype("str").replace({"None": "", "nan": "", "NaT": ""})
    table[LINE] = np.arange(2, len(table) + 2)
    return table.reset_index(drop=True)


def parse_raw_lines(
    raw: pd.DataFrame, file: str, market: str | None, odds: OddsFormat = "auto"
) -> RawLines:
    """Parse scrape rows (text cells and LINE, as read_table gives them)."""
    log = ProblemLog(file)
    cols = resolve_columns(raw, RAW_ALIASES, log)
    _require(raw, cols, market, file, log)
    read = len(raw)
    text = raw.drop(columns=[LINE]).fillna("")
    duplicate = text.duplicated(keep="first").to_numpy()
    raw = raw.loc[~duplicate].reset_index(drop=True)
    out = pd.DataFrame({"row": raw[LINE].to_numpy()})
    reason = pd.Series("", index=raw.index, dtype="str")

    def column(name: str) -> pd.Series:
        return clean_text(raw[cols[name]]) if name in cols else pd.Series("", index=raw.index)

    out["raw_name"] = column("player_name")
    out["player_id_given"] = column("player_id")
    _set(reason, (out["raw_name"] == "") & (out["player_id_given"] == ""), "the player is empty")
    dates = pd.to_datetime(column("event_date"), format="ISO8601", errors="coerce", utc=True)
    commence = pd.to_datetime(column("commence_time"), format="ISO8601", errors="coerce", utc=True)
    timed = dates.notna() & (dates != dates.dt.normalize())
    commence = commence.where(commence.notna(), dates.where(timed))
    out["event_date"] = dates.dt.tz_localize(None).dt.normalize()
    out["commence"] = commence.dt.tz_localize(None)
    _set(reason, out["event_date"].isna(), "the event date is empty or not a date")
    out["home_team"] = column("home_team")
    out["away_team"] = column("away_team")
    given_event = column("event_id")
    fallback = out["event_date"].astype(str) + "|" + out["home_team"] + "|" + out["away_team"]
    out["event"] = given_event.where(given_event != "", fallback)
    out["market"] = _markets(column("market"), market, reason)
    out["bookmaker"] = column("bookmaker").str.lower()
    _set(reason, out["bookmaker"] == "", "the bookmaker is empty")
    out["line"] = _line(column("line"), reason)
    stamps = pd.to_datetime(column("timestamp"), format="ISO8601", errors="coerce", utc=True)
    out["timestamp"] = stamps.dt.tz_localize(None)
    fmt = _odds_format(column("over_price"), column("under_price"), odds)
    for side in ("over_price", "under_price"):
        out[side] = _price(column(side), fmt, side, reason)
    out["reason"] = reason
    return RawLines(file, out, read, int(duplicate.sum()), fmt, raw)


def _require(
    raw: pd.DataFrame, cols: dict[str, str], market: str | None, file: str, log: ProblemLog
) -> None:
    missing = [c for c in REQUIRED if c not in cols]
    if "player_name" not in cols and "player_id" not in cols:
        missing.append("player_name")
    if "market" not in cols and market is None:
        missing.append("market (or pass --market PRA, PTS, REB or AST)")
    found = ", ".join(str(c) for c in raw.columns if c != LINE)
    expected = ", ".join(describe_aliases(c, RAW_ALIASES) for c in (*REQUIRED, "player_name"))
    problems = list(log.problems) + [
        Problem(
            file,
            1,
            None,
            f"column {name} is missing; an odds scrape needs {expected}. Columns found: {found}",
        )
        for name in missing
    ]
    if problems:
        raise DataValidationError(problems)


def _set(reason: pd.Series, mask: pd.Series, text: str) -> None:
    """Give `text` as the reason of the masked rows that have none yet (first reason wins)."""
    reason.loc[mask.to_numpy() & (reason == "").to_numpy()] = text


def _markets(given: pd.Series, default: str | None, reason: pd.Series) -> pd.Series:
    key = given.str.upper().str.replace(r"[\s\-]+", "_", regex=True)
    markets = key.map(MARKET_ALIASES)
    if default is not None:
        markets = markets.where(given != "", default)
    unknown = markets.isna()
    _set(reason, unknown, "the market is unknown (use PTS, REB, AST or PRA)")
    return markets.fillna("").astype("str")


def _line(text: pd.Series, reason: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(text.where(text != ""), errors="coerce")
    _set(reason, numbers.isna(), "the line is empty or not a number")
    _set(reason, (numbers <= 0) | (numbers > MAX_LINE), "the line is not a plausible prop line")
    return numbers.astype("float64")


def _odds_format(over: pd.Series, under: pd.Series, odds: OddsFormat) -> str:
    """'american' or 'decimal' for the whole file: decimal when every price is in that range."""
    if odds != "auto":
        return odds
    prices = pd.to_numeric(pd.concat([over, under]).replace("", np.nan), errors="coerce").dropna()
    low, high = DECIMAL_RANGE
    if len(prices) and prices.between(low, high).all():
        return "decimal"
    return "american"


def _price(text: pd.Series, fmt: str, side: str, reason: pd.Series) -> pd.Series:
    """American odds as whole numbers (-110.0 is -110); decimal odds converted to American."""
    numbers = pd.to_numeric(text.str.lstrip("+").where(text != ""), errors="coerce")
    _set(reason, text == "", f"the {side.replace('_', ' ')} is empty")
    _set(reason, numbers.isna(), f"the {side.replace('_', ' ')} is not a number")
    if fmt == "decimal":
        low, high = DECIMAL_RANGE
        _set(
            reason, ~numbers.between(low, high), f"the {side.replace('_', ' ')} is not decimal odds"
        )
        numbers = pd.Series(
            np.where(numbers >= 2.0, (numbers - 1.0) * 100.0, -100.0 / (numbers - 1.0)),
            index=numbers.index,
        ).round()
    inside = (numbers > -100) & (numbers < 100)
    fractional = numbers.notna() & (numbers != numbers.round())
    _set(reason, inside | fractional, f"the {side.replace('_', ' ')} is not American odds")
    return numbers.fillna(0).round().astype("int64")
