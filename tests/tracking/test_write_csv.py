"""write_csv writes what DataFrame.to_csv writes, as read_csv reads it back, only faster."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nbaprops.tracking.runlog import write_csv


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "game_date": pd.to_datetime(["2025-01-02", "2025-01-03", None]),
            "snapshot_ts": pd.to_datetime(["2025-01-02 10:00:05", "2025-01-03 18:30:00", None]),
            "player_id": [203999, 1629029, 201939],
            "player_name": pd.array(['Nikola "Joker" Jokić', "Luka, Dončić", None], dtype="str"),
            "line": [24.5, np.nan, 30.0],
            "stake": [1.0, 0.0, 2.5],
            "push": [False, True, False],
            "result": ["win", "loss", "push"],
        }
    )


def test_read_back_it_equals_what_pandas_writes(tmp_path: Path) -> None:
    frame = _frame()
    frame.to_csv(tmp_path / "pandas.csv", index=False)
    write_csv(frame, tmp_path / "fast.csv")
    dates = ["game_date", "snapshot_ts"]
    expected = pd.read_csv(tmp_path / "pandas.csv", parse_dates=dates)
    got = pd.read_csv(tmp_path / "fast.csv", parse_dates=dates)
    pd.testing.assert_frame_equal(got, expected)
    assert got["push"].dtype == bool
    assert (tmp_path / "fast.csv").read_text().splitlines()[1].startswith("2025-01-02,")


@pytest.mark.parametrize("column", [[1, "a", 2.5], [{"a": 1}, None, 3]], ids=["mixed", "dict"])
def test_a_column_pyarrow_cannot_type_is_written_by_pandas(tmp_path: Path, column: list) -> None:
    frame = pd.DataFrame({"x": column, "y": [1, 2, 3]})
    write_csv(frame, tmp_path / "fast.csv")
    frame.to_csv(tmp_path / "pandas.csv", index=False)
    assert (tmp_path / "fast.csv").read_text() == (tmp_path / "pandas.csv").read_text()
