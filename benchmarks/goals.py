"""The one line every benchmark ends with per goal, so a reader or a script sees what holds.

    GOAL <name> value=<x> goal=<y> PASS|MISS

`value` and `goal` are in the same unit (a ratio against a baseline of the same run, or
seconds / bytes where the goal is absolute); lower is better unless `higher_is_better`.
"""

from __future__ import annotations


def goal_line(name: str, value: float, goal: float, *, higher_is_better: bool = False) -> str:
    """Format one goal's verdict; PASS when the value is on the right side of the goal."""
    passed = value >= goal if higher_is_better else value <= goal
    return f"GOAL {name} value={value:.3g} goal={goal:.3g} {'PASS' if passed else 'MISS'}"


def print_goal(name: str, value: float, goal: float, *, higher_is_better: bool = False) -> None:
    """Print `goal_line(...)` on stdout."""
    print(goal_line(name, value, goal, higher_is_better=higher_is_better))
