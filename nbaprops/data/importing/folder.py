"""The canonical folder an import adds to: read what it holds, write the merged files at once.

Everything is written into a hidden sibling folder (a copy of the old one plus the new files),
checked by reading it back as NBAPROPS_DATA would, and only then renamed into place: a failed
import leaves the folder as it was.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from nbaprops.data.csv_source import GAMES_FILE, LINES_FILE, CsvSource
from nbaprops.data.errors import OutputFolderError
from nbaprops.data.schedule import SCHEDULE_FILE
from nbaprops.data.validate import read_table
from nbaprops.data.validate_games import parse_games
from nbaprops.data.writer import move_into_place, to_csv

REJECTS = Path("rejects") / "lines.csv"


def held_games(out_dir: Path, market: str) -> pd.DataFrame | None:
    """The canonical games the folder already holds (None when it holds none)."""
    path = out_dir / GAMES_FILE
    if not path.exists():
        return None
    return parse_games(read_table(path, "game logs"), str(path), market).games


def held_text(out_dir: Path, name: str | Path) -> pd.DataFrame | None:
    """A file the folder holds, as text cells (None when absent)."""
    path = out_dir / name
    if not path.exists():
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def held_lines(out_dir: Path) -> pd.DataFrame | None:
    """The folder's lines.csv as quotes (typed), ready to merge with new ones."""
    text = held_text(out_dir, LINES_FILE)
    if text is None or text.empty:
        return None
    return pd.DataFrame(
        {
            "game_date": pd.to_datetime(text["game_date"]),
            "player_id": text["player_id"].astype("int64"),
            "player_name": text["player_name"],
            "market": text["market"],
            "line": text["line"].astype("float64"),
            "over_price": text["over_price"].astype("int64"),
            "under_price": text["under_price"].astype("int64"),
            "bookmaker": text["bookmaker"],
            "snapshot_ts": pd.to_datetime(text["snapshot_ts"].replace("", None)),
        }
    )


def write_folder(out_dir: Path, frames: Mapping[str | Path, pd.DataFrame], market: str) -> None:
    """Write `frames` (file name -> frame) over a copy of `out_dir`, check it, swap it in."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputFolderError(f"{out_dir} is a file, not a folder; choose another --out")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=out_dir.parent)
    )
    try:
        staging.chmod(0o755)
        if out_dir.is_dir():
            shutil.copytree(out_dir, staging, dirs_exist_ok=True)
        for name, frame in frames.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            to_csv(frame, path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            CsvSource(staging, target=market).load()
        move_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


__all__ = ["REJECTS", "SCHEDULE_FILE", "held_games", "held_lines", "held_text", "write_folder"]
