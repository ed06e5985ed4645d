"""schedule.csv, the slate: one row per scheduled game, read and validated into the
Feed's schedule frame (game_date, game_id, home_team, away_team, tipoff_utc)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nbaprops.data.feed import SCHEDULE_COLUMNS
from nbaprops.data.validate import (
    LINE,
    ProblemLog,
    clean_text,
    parse_dates,
    read_table,
    require_columns,
)

SCHEDULE_FILE = "schedule.csv"
REQUIRED = ("game_date", "home_team", "away_team")


def read_schedule(path: Path) -> pd.DataFrame:
    """Read schedule.csv; every problem names the file, line and column (exit 2 upstream)."""
    raw = read_table(path, "the schedule (game_date, game_id, home_team, away_team)")
    raw.columns = [str(c).strip().lower().replace(" ", "_") for c in raw.columns]
    log = ProblemLog(str(path))
    require_columns(raw, REQUIRED, log, "see docs/data-schema.md")
    rows = raw[LINE]
    out = pd.DataFrame({"game_date": parse_dates(raw["game_date"], rows, "game_date", log)})
    for column in ("home_team", "away_team"):
        out[column] = clean_text(raw[column]).str.upper()
    for column in ("game_id", "tipoff_utc"):
        text = clean_text(raw[column]) if column in raw.columns else pd.Series("", index=raw.index)
        out[column] = text.fillna("").astype("str")
    log.raise_if_any()
    out = out[list(SCHEDULE_COLUMNS)]
    return out.sort_values(["game_date", "game_id"], kind="stable").reset_index(drop=True)
