"""README's goal table is rebuilt from a bench log's GOAL lines, and only between its markers."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.goals import goal_line
from scripts.goal_table import END, START, main

README = f"# x\n\nbefore\n{START}\n| stale | row |\n{END}\nafter\n"


def _log(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "bench.log"
    path.write_text("\n".join(["feed: 105,104 player-games", *lines, "done"]) + "\n")
    return path


def test_the_table_holds_each_goal_of_the_log_and_the_rest_is_kept(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(README)
    log = _log(
        tmp_path,
        goal_line("tracked_training_xgboost", 1.31, 1.25),
        goal_line("cycle_peak_memory_gb", 0.95, 2.0),
        goal_line("tracked_training_xgboost", 1.2, 1.25),  # run again: the last line wins
    )
    assert main([str(log), str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# x\n\nbefore\n") and text.endswith("after\n")
    assert "stale" not in text
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows == [
        "| `tracked_training_xgboost` | 1.2 | 1.25 | PASS |",
        "| `cycle_peak_memory_gb` | 0.95 | 2 | PASS |",
    ]


def test_a_missed_goal_is_marked(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(README)
    assert main([str(_log(tmp_path, goal_line("cycle_vs_bare_fits", 2.0, 1.5))), str(readme)]) == 0
    assert "| `cycle_vs_bare_fits` | 2 | 1.5 | **MISS** |" in readme.read_text()


@pytest.mark.parametrize(
    ("log_lines", "readme_text"),
    [((), README), ((goal_line("a", 1.0, 2.0),), "# no markers\n")],
    ids=["no-goal-lines", "no-markers"],
)
def test_nothing_is_written_without_goals_or_markers(
    tmp_path: Path, log_lines: tuple[str, ...], readme_text: str
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(readme_text)
    assert main([str(_log(tmp_path, *log_lines)), str(readme)]) == 1
    assert readme.read_text() == readme_text
