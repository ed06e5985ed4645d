"""Named cases a suite counts for the README ('fault scenarios survived: N of M'): each test
names the cases it proves as a user property, and the terminal summary reads them back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def case_recorder(request: pytest.FixtureRequest, key: str) -> Callable[[str], None]:
    """A function that names a case the running test proves, under user property `key`."""

    def record(name: str) -> None:
        request.node.user_properties.append((key, name))

    return record


def recorded_outcomes(reporter: Any, key: str) -> dict[str, bool]:
    """Each case recorded under `key` -> whether every test proving it passed."""
    outcomes: dict[str, bool] = {}
    for reports in reporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call" and getattr(report, "passed", True):
                continue
            for name, value in getattr(report, "user_properties", []):
                if name == key:
                    outcomes[value] = outcomes.get(value, True) and bool(report.passed)
    return outcomes
