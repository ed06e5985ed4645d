"""A game log that gives only the PRA total feeds target PRA (and only it)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from nbaprops.data.csv_source import CsvSource
from nbaprops.data.errors import DataValidationError, DataWarning
from nbaprops.features.build import build_features

ROWS = [
    "game_date,player_id,player_name,game_id,PRA",
    *(f"2024-01-{d:02d},1,Ann Able,g{d},{20 + d}" for d in range(1, 13)),
    *(f"2024-01-{d:02d},2,Bo Bell,g{d},{10 + d}" for d in range(1, 13)),
]


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "games.csv").write_text("\n".join(ROWS) + "\n")
    return tmp_path


def test_pra_alone_is_enough_for_target_pra(tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        feed = CsvSource(_folder(tmp_path), target="PRA").load()
    notes = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert any("lacks the optional columns" in n and "PTS" in n for n in notes)
    frame = build_features(feed.games, "PRA")
    assert frame.y[frame.keys["player_id"] == 1].tolist()[:3] == [21.0, 22.0, 23.0]
    assert "PRA_L5_Mean" in frame.feature_names
    assert "PSA_L15_EWMA" in frame.disabled
    # the fifth game's 5-game mean is the mean of the four before it (past only)
    ann = frame.keys["player_id"] == 1
    assert frame.X.loc[ann, "PRA_L5_Mean"].iloc[4] == pytest.approx((21 + 22 + 23 + 24) / 4)


def test_pra_only_log_is_refused_for_target_pts(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="column PTS is missing"):
        CsvSource(_folder(tmp_path), target="PTS").load()


def test_empty_pra_cell_names_the_row(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    text = (folder / "games.csv").read_text().replace("g3,23", "g3,")
    (folder / "games.csv").write_text(text)
    with pytest.raises(DataValidationError, match=r"line 4, column PRA: PRA is empty"):
        CsvSource(folder, target="PRA").load()
