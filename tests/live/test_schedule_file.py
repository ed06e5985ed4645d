"""schedule.csv: the generated slate round-trips through the folder, and a bad cell is one
clear error naming the file, line and column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nbaprops.data.csv_source import CsvSource
from nbaprops.data.errors import DataValidationError
from nbaprops.data.synthetic import SyntheticSource
from nbaprops.data.writer import write_feed


def test_generated_schedule_round_trips_and_covers_every_game(tmp_path: Path) -> None:
    feed = SyntheticSource(seed=3, teams=4, seasons=("2024-25",)).load()
    assert feed.schedule is not None
    assert set(feed.schedule["game_id"]) == set(feed.games["game_id"])
    write_feed(feed, tmp_path / "data")
    back = CsvSource(tmp_path / "data").load()
    assert back.schedule is not None
    pd.testing.assert_frame_equal(back.schedule, feed.schedule)


def test_a_bad_schedule_date_names_file_line_and_column(tmp_path: Path) -> None:
    feed = SyntheticSource(seed=3, teams=4, seasons=("2024-25",)).load()
    folder = tmp_path / "data"
    write_feed(feed, folder)
    path = folder / "schedule.csv"
    text = path.read_text().splitlines()
    text[2] = text[2].replace(text[2].split(",")[0], '"22/10/2024"', 1)
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(DataValidationError) as error:
        CsvSource(folder).load()
    message = str(error.value)
    assert "schedule.csv" in message and "line 3" in message and "game_date" in message
