"""The user's real data: a folder of CSV files read into the canonical Feed.

The folder holds games.csv (game logs), optionally lines.csv (sportsbook props; without it
there are no bets) and truth.csv (written only for generated data, see docs/data-schema.md).
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from nbaprops.data.errors import DataValidationError, DataWarning
from nbaprops.data.feed import LINE_COLUMNS, TRUTH_KEY, Feed
from nbaprops.data.player_names import ids_from_text
from nbaprops.data.schedule import SCHEDULE_FILE, read_schedule
from nbaprops.data.validate import (
    LINE,
    ProblemLog,
    clean_text,
    parse_dates,
    parse_numbers,
    read_table,
    require_columns,
)
from nbaprops.data.validate_games import TARGET_STATS, parse_games
from nbaprops.data.validate_lines import parse_lines

GAMES_FILE = "games.csv"
LINES_FILE = "lines.csv"
TRUTH_FILE = "truth.csv"

# Which features each optional game-log column feeds; its absence switches them off.
FEATURES_NEEDING: dict[str, str] = {
    "MIN": "minutes features",
    "FGA": "usage, shooting and possession-based defence features",
    "FTA": "usage, shooting and possession-based defence features",
    "TOV": "usage, shooting and possession-based defence features",
    "team": "opponent-defence and pace features",
    "opponent": "opponent-defence and pace features",
    "home": "the home flag",
    "PTS": "the PTS market, points-per-shot and opponent-defence features",
    "REB": "the REB market",
    "AST": "the AST market",
}


@dataclass(frozen=True)
class CsvSource:
    """A folder of CSVs (games.csv, optional lines.csv and truth.csv) as a DataSource.

    `as_of` is the day the data is read (passed in by the caller): game logs after it are
    errors. None skips that check.
    """

    folder: Path
    target: str = "PTS"
    as_of: dt.date | None = None

    def load(self) -> Feed:
        """Read, validate and normalise the folder; raise DataValidationError on bad data."""
        if self.target not in TARGET_STATS:
            raise ValueError(
                f"target {self.target!r} is unknown; use one of {', '.join(TARGET_STATS)}"
            )
        folder = Path(self.folder)
        if not folder.is_dir():
            raise DataValidationError.single(
                str(folder),
                "data folder not found; point NBAPROPS_DATA at a folder holding games.csv "
                "(and optionally lines.csv), see docs/data-schema.md",
            )
        games_path = folder / GAMES_FILE
        game_log = parse_games(
            read_table(games_path, "game logs"), str(games_path), self.target, self.as_of
        )
        notes: list[str] = []
        missing_note = missing_columns_note(game_log.absent, str(games_path))
        if missing_note:
            notes.append(missing_note)
        lines_path = folder / LINES_FILE
        if lines_path.exists():
            lines = parse_lines(
                read_table(lines_path, "sportsbook lines"), str(lines_path), game_log, self.as_of
            )
        else:
            lines = empty_lines(game_log.games)
            notes.append(f"{lines_path} is absent: there are no sportsbook lines, so no bets")
        truth_path = folder / TRUTH_FILE
        truth = _read_truth(truth_path) if truth_path.exists() else None
        for note in notes:
            warnings.warn(note, DataWarning, stacklevel=2)
        schedule_path = folder / SCHEDULE_FILE
        schedule = read_schedule(schedule_path) if schedule_path.exists() else None
        return Feed(
            game_log.games, lines, truth, source="csv", warnings=tuple(notes), schedule=schedule
        )


def missing_columns_note(absent: tuple[str, ...], file: str) -> str | None:
    """One sentence naming the absent optional columns and the features they switch off."""
    relevant = [c for c in absent if c in FEATURES_NEEDING]
    if not relevant:
        return None
    switched_off: dict[str, list[str]] = {}
    for column in relevant:
        switched_off.setdefault(FEATURES_NEEDING[column], []).append(column)
    parts = [f"{feature} (needs {', '.join(cols)})" for feature, cols in switched_off.items()]
    return (
        f"{file} lacks the optional columns {', '.join(relevant)}; switched off: "
        f"{'; '.join(parts)}. Add the columns to use them (see docs/data-schema.md)."
    )


def empty_lines(games: pd.DataFrame) -> pd.DataFrame:
    """A lines frame with the canonical columns and dtypes and no rows."""
    frame = pd.DataFrame({c: pd.Series(dtype="str") for c in LINE_COLUMNS})
    frame["game_date"] = frame["game_date"].astype(games["game_date"].dtype)
    frame["snapshot_ts"] = frame["snapshot_ts"].astype(games["game_date"].dtype)
    frame["player_id"] = frame["player_id"].astype("int64")
    frame["line"] = frame["line"].astype("float64")
    for side in ("over_price", "under_price"):
        frame[side] = frame[side].astype("int64")
    return frame


def _read_truth(path: Path) -> pd.DataFrame:
    """truth.csv of generated data: keys plus numeric true_mean_*/true_median_* columns."""
    raw = read_table(path, "the synthetic truth (true_mean_*, true_median_*)")
    log = ProblemLog(str(path))
    require_columns(raw, TRUTH_KEY, log, "truth.csv is written by `data generate`")
    rows = raw[LINE]
    truth = pd.DataFrame(
        {
            "game_date": parse_dates(raw["game_date"], rows, "game_date", log),
            "player_id": ids_from_text(clean_text(raw["player_id"])),
        }
    )
    for column in raw.columns:
        if column not in (*TRUTH_KEY, LINE):
            truth[column] = parse_numbers(raw[column], rows, str(column), log, example="12.3")
    log.raise_if_any()
    return truth
