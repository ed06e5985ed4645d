"""NBA season labels ("2024-25") and their calendar: which season a date belongs to."""

from __future__ import annotations

import datetime as dt
import re

_SEASON_RE = re.compile(r"^(\d{4})-(\d{2})$")


class SeasonError(ValueError):
    """A season label that is not of the form 2024-25."""


def parse_season(label: str) -> int:
    """Return the start year of a season label such as '2024-25'; raise SeasonError otherwise."""
    match = _SEASON_RE.match(label)
    if not match:
        raise SeasonError(f"season {label!r} is not of the form YYYY-YY, e.g. 2024-25")
    start = int(match.group(1))
    if (start + 1) % 100 != int(match.group(2)):
        raise SeasonError(f"season {label!r}: the second year must follow the first, e.g. 2024-25")
    return start


def season_label(start_year: int) -> str:
    """'2024-25' for 2024."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def season_of(day: dt.date) -> str:
    """The season a game date belongs to: July onwards starts a new season."""
    return season_label(day.year if day.month >= 7 else day.year - 1)


def metric_suffix(label: str) -> str:
    """'2023_24' for '2023-24', for metric names such as wf_mae_2023_24."""
    return label.replace("-", "_")
