"""Write a Feed as a CSV data folder that CsvSource reads back unchanged.

Files are written into a hidden temporary sibling folder which is then renamed into place,
so a failure part-way leaves either the old folder or nothing, never half a feed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from nbaprops.data.csv_source import GAMES_FILE, LINES_FILE, TRUTH_FILE
from nbaprops.data.errors import OutputFolderError
from nbaprops.data.feed import Feed
from nbaprops.data.schedule import SCHEDULE_FILE

DATE_FORMATS = {"game_date": "%Y-%m-%d", "snapshot_ts": "%Y-%m-%dT%H:%M:%S"}


def write_feed(feed: Feed, out_dir: Path, *, overwrite: bool = False) -> list[Path]:
    """Write games.csv, lines.csv (truth.csv, schedule.csv when the feed has them) into `out_dir`.

    `out_dir` must not exist or be empty, unless `overwrite` replaces it whole.
    Returns the written files' final paths.
    """
    out_dir = Path(out_dir)
    check_output_folder(out_dir, overwrite=overwrite)
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=parent))
    except OSError as exc:
        raise OutputFolderError(
            f"cannot create {out_dir}: {exc.strerror or exc}; choose a folder you can write to"
        ) from None
    try:
        staging.chmod(0o755)
        names = _write_files(feed, staging)
        move_into_place(staging, out_dir)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise OutputFolderError(
                f"writing {out_dir} failed ({exc}); nothing was written, "
                "fix the cause and run again"
            ) from exc
        raise
    return [out_dir / name for name in names]


def check_output_folder(out_dir: Path, *, overwrite: bool = False) -> None:
    """Refuse, before any work, a target that cannot take a new feed: a file, a folder
    under a file or a read-only folder, or a non-empty folder without `overwrite`.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputFolderError(f"{out_dir} is a file, not a folder; choose another --out")
    ancestor = out_dir.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputFolderError(
            f"cannot create {out_dir}: {ancestor} is not a folder you can write to; "
            "choose another --out"
        )
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise OutputFolderError(
            f"{out_dir} already exists and is not empty; choose a new folder, or pass --force "
            "to replace it"
        )


def _write_files(feed: Feed, folder: Path) -> list[str]:
    """The CSV files of a feed, dates as YYYY-MM-DD."""
    frames = {GAMES_FILE: feed.games, LINES_FILE: feed.lines}
    if feed.truth is not None:
        frames[TRUTH_FILE] = feed.truth
    if feed.schedule is not None:
        frames[SCHEDULE_FILE] = feed.schedule
    for name, frame in frames.items():
        to_csv(frame, folder / name)
    return list(frames)


def to_csv(frame: pd.DataFrame, path: Path) -> None:
    """One UTF-8 CSV, synced to disk; pyarrow's writer when present (several times faster)."""
    out = frame.copy()
    for column, pattern in DATE_FORMATS.items():
        if column in out.columns:
            out[column] = _format_dates(out[column], pattern)
    with path.open("wb") as handle:
        try:
            import pyarrow as pa
            import pyarrow.csv as pa_csv
        except ImportError:
            out.to_csv(handle, index=False, encoding="utf-8")
        else:
            pa_csv.write_csv(pa.Table.from_pandas(out, preserve_index=False), handle)
        handle.flush()
        os.fsync(handle.fileno())


def _format_dates(stamps: pd.Series, pattern: str) -> pd.Series:
    """Dates as text, formatted once per distinct value; '' for missing."""
    codes, distinct = pd.factorize(stamps, use_na_sentinel=True)
    texts = np.array([*pd.DatetimeIndex(distinct).strftime(pattern), ""], dtype=object)
    return pd.Series(texts[codes], index=stamps.index, dtype="str")


def move_into_place(staging: Path, out_dir: Path) -> None:
    """Rename the finished folder onto `out_dir`, replacing an old one only at the end."""
    if not out_dir.exists() or not any(out_dir.iterdir()):
        os.replace(staging, out_dir)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
    retired.rmdir()
    os.replace(out_dir, retired)
    try:
        os.replace(staging, out_dir)
    except OSError:
        with contextlib.suppress(OSError):
            os.replace(retired, out_dir)
        raise
    shutil.rmtree(retired, ignore_errors=True)
