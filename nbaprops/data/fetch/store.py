"""Merge fetched rows into the data folder through the importer (nbaprops.data.importing).

Box scores, the slate and odds rows take the path an imported file takes: names reconciled,
snapshots reduced to opening and closing lines, the folder rewritten at once. Fetching the
same days twice therefore leaves the folder byte for byte the same. A fetch never refuses
for set-aside lines (a day may hold few); it reports them and the rows go to rejects/.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nbaprops.data.fetch.sources import Fetched
from nbaprops.data.importing.raw_lines import table_of
from nbaprops.data.importing.run import Batch, import_batch
from nbaprops.data.validate_games import parse_games

GAMES_SOURCE = "NBA.com box scores (fetched)"
LINES_SOURCE = "odds API lines (fetched)"


def store(fetched: list[Fetched], folder: Path, target: str = "PTS") -> dict[str, int]:
    """Merge every fetched frame into folder's games.csv, schedule.csv and lines.csv."""
    games = [f.games for f in fetched if f.games is not None and not f.games.empty]
    new_games = None
    if games:
        new_games = parse_games(table_of(pd.concat(games)), GAMES_SOURCE, target).games
    slates = [f.schedule for f in fetched if f.schedule is not None and not f.schedule.empty]
    raw = [f.lines for f in fetched if f.lines is not None and not f.lines.empty]
    batch = Batch(
        new_games,
        table_of(pd.concat(raw)) if raw else None,
        GAMES_SOURCE,
        LINES_SOURCE,
        pd.concat(slates) if slates else None,
    )
    report = import_batch(batch, folder, target, max_set_aside=1.0)
    return {
        "games_rows": report.games_total,
        "schedule_rows": report.schedule_total,
        "lines_rows": report.lines_total,
        "lines_upcoming": report.upcoming,
        "lines_set_aside": sum(report.set_aside.values()),
    }
