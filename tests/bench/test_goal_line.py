"""The GOAL line's verdict: the side of the goal decides, and the direction is respected."""

import pytest

from benchmarks.goals import goal_line


@pytest.mark.parametrize(
    ("value", "goal", "higher", "verdict"),
    [
        (1.1, 1.25, False, "PASS"),
        (1.25, 1.25, False, "PASS"),
        (1.3, 1.25, False, "MISS"),
        (0.9, 1.0, True, "MISS"),
        (1.0, 1.0, True, "PASS"),
    ],
)
def test_goal_line_verdict(value: float, goal: float, higher: bool, verdict: str) -> None:
    line = goal_line("x", value, goal, higher_is_better=higher)
    assert line.startswith("GOAL x value=")
    assert line.endswith(verdict)
