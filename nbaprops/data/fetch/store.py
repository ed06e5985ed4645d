"""Merge fetched rows into the data folder, idempotently and file by file atomically.

Games are keyed by (GAME_ID, PLAYER_ID), the slate by game_id, lines by (event date, player,
market, bookmaker): the earliest snapshot seen is `open`, a later different one `close`.
Fetching the same days twice therefore leaves the folder byte for byte the same.
Until the real-data importer (nbaprops.data.importing.import_raw) is in place, the odds
rows are converted here to the lines.csv schema (docs/data-schema.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from nba_api.stats.static import teams as nba_teams

from nbaprops.data.feed import SCHEDULE_COLUMNS
from nbaprops.data.fetch.sources import Fetched

MARKET_CODES = {"player_points": "PTS", "player_rebounds": "REB", "player_assists": "AST",
                "player_points_rebounds_assists": "PRA"}  # fmt: skip
LINE_KEY = ["game_date", "player_name", "market", "bookmaker"]
OUT_LINE_COLUMNS = ["game_date", "player_name", "market", "line", "over_price", "under_price",
                    "bookmaker", "snapshot", "snapshot_ts"]  # fmt: skip


def store(fetched: list[Fetched], folder: Path) -> dict[str, int]:
    """Merge every fetched frame into folder's games.csv, schedule.csv and lines.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    games = [f.games for f in fetched if f.games is not None]
    if games:
        merged = _merge(folder / "games.csv", pd.concat(games), ["GAME_ID", "PLAYER_ID"])
        counts["games_rows"] = _write(merged.sort_values(["GAME_DATE", "GAME_ID", "PLAYER_ID"]),
                                      folder / "games.csv")  # fmt: skip
    slates = [f.schedule for f in fetched if f.schedule is not None]
    if slates:
        merged = _merge(folder / "schedule.csv", pd.concat(slates), ["game_id"])
        merged = merged[list(SCHEDULE_COLUMNS)].sort_values(["game_date", "game_id"])
        counts["schedule_rows"] = _write(merged, folder / "schedule.csv")
    raw = [f.lines for f in fetched if f.lines is not None and not f.lines.empty]
    if raw:
        counts["lines_rows"] = _write(_merge_lines(folder / "lines.csv", pd.concat(raw)),
                                      folder / "lines.csv")  # fmt: skip
    return counts


def odds_to_lines(raw: pd.DataFrame) -> pd.DataFrame:
    """Odds-scrape rows in lines.csv columns (snapshot decided by _merge_lines)."""
    return pd.DataFrame(
        {
            "game_date": raw["event_date"].astype(str),
            "player_name": raw["player_name"].astype(str),
            "market": raw["market"].map(MARKET_CODES).fillna(raw["market"]).astype(str),
            "line": raw["line"].astype(float).map(lambda v: f"{v:g}"),
            "over_price": raw["over_price"].astype(int).astype(str),
            "under_price": raw["under_price"].astype(int).astype(str),
            "bookmaker": raw["bookmaker"].astype(str),
            "snapshot_ts": raw["timestamp"].astype(str).str.replace("Z", "", regex=False),
        }
    )


def team_abbreviations() -> dict[str, str]:
    """Odds API team names (full names) to NBA abbreviations, from nba_api's static data."""
    return {t["full_name"]: t["abbreviation"] for t in nba_teams.get_teams()}


def _merge(path: Path, new: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Existing rows of `path` (as text) plus the new ones, the newest winning per key."""
    fresh = new.astype("str")
    if path.exists():
        fresh = pd.concat([pd.read_csv(path, dtype=str, keep_default_na=False), fresh])
    return fresh.drop_duplicates(key, keep="last").reset_index(drop=True)


def _merge_lines(path: Path, raw: pd.DataFrame) -> pd.DataFrame:
    """Every quote seen per key: the earliest is `open`, the latest (if later) `close`."""
    quotes = odds_to_lines(raw)
    if path.exists():
        old = pd.read_csv(path, dtype=str, keep_default_na=False)
        quotes = pd.concat([old.drop(columns=["snapshot"]), quotes], ignore_index=True)
    quotes = quotes.drop_duplicates().sort_values([*LINE_KEY, "snapshot_ts"], kind="stable")
    first = quotes.drop_duplicates(LINE_KEY, keep="first").assign(snapshot="open")
    last = quotes.drop_duplicates(LINE_KEY, keep="last")
    last = last[last["snapshot_ts"] != first.set_index(LINE_KEY).reindex(
        pd.MultiIndex.from_frame(last[LINE_KEY]))["snapshot_ts"].to_numpy()]  # fmt: skip
    both = pd.concat([first, last.assign(snapshot="close")], ignore_index=True)
    return both[OUT_LINE_COLUMNS].sort_values([*LINE_KEY, "snapshot"], kind="stable")


def _write(frame: pd.DataFrame, path: Path) -> int:
    """Write one CSV beside its final name, then rename it into place (atomic per file)."""
    partial = path.with_name(f".{path.name}.partial")
    frame.to_csv(partial, index=False)
    os.replace(partial, path)
    return len(frame)
