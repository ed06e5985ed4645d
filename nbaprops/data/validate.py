"""Schema checks shared by every CSV file: reading, header aliases and cell parsers.

Each parser records every bad cell in a `ProblemLog` (file, line as seen in an editor, column
as written) instead of stopping at the first, so one run tells the user everything to fix.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from nbaprops.data.errors import DataValidationError, Problem

# Name of the column that carries each row's line number in the file (header = line 1).
LINE = "__line__"
DATE_DTYPE: Final = "datetime64[ns]"
# Header aliases of the columns that say whose row of which day it is; games.csv and lines.csv
# accept the same ones.
PLAYER_DAY_ALIASES: Final[Mapping[str, tuple[str, ...]]] = {
    "game_date": ("game_date", "date", "gamedate"),
    "player_id": ("player_id", "playerid", "person_id"),
    "player_name": ("player_name", "player", "name"),
}
_PARSER_LINE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_MINUTES_SECONDS = re.compile(r"^\s*(\d+):([0-5]\d)(?:\.\d+)?\s*$")
_FLAG_VALUES = {
    "1": 1, "true": 1, "yes": 1, "y": 1, "t": 1, "home": 1, "h": 1,
    "0": 0, "false": 0, "no": 0, "n": 0, "f": 0, "away": 0, "a": 0,
}  # fmt: skip


class ProblemLog:
    """Collects the problems of one file and raises them together."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, row: int | None, column: str | None, message: str) -> None:
        """Record one problem."""
        self.problems.append(Problem(self.file, row, column, message))

    def add_cells(self, rows: pd.Series, values: pd.Series, column: str, message: str) -> None:
        """Record one problem per bad cell; `message` may use {value} for the cell's text."""
        for row, value in zip(rows.tolist(), values.tolist(), strict=True):
            shown = "" if value is None or pd.isna(value) else value
            self.add(int(row), column, message.format(value=shown))

    def raise_if_any(self) -> None:
        """Raise one DataValidationError listing every problem, in line order."""
        if self.problems:
            ordered = sorted(self.problems, key=lambda p: p.row or 0)
            raise DataValidationError(ordered)


def normalise_header(header: str) -> str:
    """The alias-lookup form of a header: lower-case, spaces and hyphens as underscores."""
    return re.sub(r"[\s\-]+", "_", header.strip()).lower()


def read_table(path: Path, what: str) -> pd.DataFrame:
    """Read a CSV as text cells plus a LINE column; raise at once if the file is unusable.

    Unusable means: missing, empty (0 bytes), not UTF-8, malformed rows, or a header with no
    rows. `what` says what the file should hold, for the messages (e.g. "game logs").
    """
    file = str(path)
    if not path.is_file():
        raise DataValidationError.single(
            file, f"file not found; the data folder must hold {path.name} ({what})"
        )
    data = path.read_bytes()
    if not data or data.isspace():
        raise DataValidationError.single(
            file, f"the file is empty; it needs a header line and at least one row of {what}"
        )
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataValidationError.single(
            file,
            f"byte 0x{data[exc.start]:02x} is not UTF-8 text; save it as UTF-8 "
            "(in Excel: Save As > 'CSV UTF-8')",
            row=line,
        ) from None
    first_line = data[: data.find(b"\n")] if b"\n" in data[:65536] else data[:65536]
    header = next(csv.reader(io.StringIO(first_line.decode("utf-8-sig", "replace"))), [])
    try:
        frame = _parse_csv(data)
    except pd.errors.ParserError as exc:
        match = _PARSER_LINE.search(str(exc))
        if match is None:
            raise DataValidationError.single(
                file, f"this is not a readable CSV file ({str(exc).strip()}); check its quoting"
            ) from None
        expected, line, seen = (int(g) for g in match.groups())
        raise DataValidationError.single(
            file,
            f"this row has {seen} fields but the header has {expected}; "
            "quote values that contain commas, or remove the extra fields",
            row=line,
        ) from None
    frame.columns = [h.strip() for h in header] if len(header) == frame.shape[1] else frame.columns
    frame[LINE] = np.arange(2, len(frame) + 2)
    maybe_blank = frame.iloc[:, 0].isna()
    if maybe_blank.any():
        is_blank = frame.loc[maybe_blank].drop(columns=[LINE]).isna().all(axis=1)
        frame = frame.drop(index=is_blank.index[is_blank]).reset_index(drop=True)
    if frame.empty:
        raise DataValidationError.single(
            file, f"the file has a header but no rows; add at least one row of {what}", row=1
        )
    return frame


def _parse_csv(data: bytes) -> pd.DataFrame:
    """All cells as text. The multi-threaded pyarrow parser when it keeps line numbers true
    (no blank lines) and the file parses; else pandas' own parser, whose errors name the line.
    """
    if b"\n\n" not in data and b"\n\r\n" not in data:
        with contextlib.suppress(ImportError, ValueError, pd.errors.ParserError):
            return pd.read_csv(io.BytesIO(data), dtype=str, encoding="utf-8", engine="pyarrow")
    return pd.read_csv(io.BytesIO(data), dtype=str, encoding="utf-8-sig", skip_blank_lines=False)


def resolve_columns(
    frame: pd.DataFrame, aliases: Mapping[str, Iterable[str]], log: ProblemLog
) -> dict[str, str]:
    """Map canonical names to the headers that carry them (matched case-insensitively).

    Two headers meaning the same thing are a problem: the user must keep one of them.
    """
    lookup = {normalise_header(a): canonical for canonical, names in aliases.items() for a in names}
    found: dict[str, str] = {}
    for header in frame.columns:
        if header == LINE:
            continue
        canonical = lookup.get(normalise_header(str(header)))
        if canonical is None:
            continue
        if canonical in found:
            log.add(
                1,
                str(header),
                f"columns {found[canonical]!r} and {header!r} both give {canonical}; "
                "keep one of them",
            )
            continue
        found[canonical] = str(header)
    return found


def require_columns(
    frame: pd.DataFrame, columns: Iterable[str], log: ProblemLog, hint: str
) -> None:
    """Stop at once when a column is absent: one problem per missing column, on the header line,
    whose message ends with `hint` (where the column should come from)."""
    for column in columns:
        if column not in frame.columns:
            log.add(1, None, f"column {column} is missing; {hint}")
    log.raise_if_any()


def describe_aliases(canonical: str, aliases: Mapping[str, Iterable[str]]) -> str:
    """'game_date (also: GAME_DATE, date)' for messages."""
    others = [a for a in aliases[canonical] if a != canonical]
    return f"{canonical} (also: {', '.join(others)})" if others else canonical


class Distinct:
    """A column as codes into its distinct values: CSV columns repeat a lot (dates, books,
    prices), so each parser works once per distinct value and spreads the result back.

    Missing cells point at one extra last slot whose text is empty.
    """

    def __init__(self, values: pd.Series) -> None:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        self.index = values.index
        self.codes = codes
        text = pd.Series(uniques, dtype="str").str.strip()
        self.text = pd.concat([text, pd.Series([""], dtype="str")], ignore_index=True)
        self.blank = self.text == ""

    def spread(self, per_distinct: pd.Series) -> pd.Series:
        """A per-distinct-value result as a full column."""
        spread = per_distinct.iloc[self.codes]
        spread.index = self.index
        return spread


def blank(values: pd.Series) -> pd.Series:
    """True where a cell is empty, whitespace or a NaN marker."""
    distinct = Distinct(values)
    return distinct.spread(distinct.blank).astype(bool)


def parse_dates(
    values: pd.Series,
    rows: pd.Series,
    column: str,
    log: ProblemLog,
    *,
    kind: str = "date",
    midnight: bool = True,
) -> pd.Series:
    """Dates such as 2024-10-22 (or nba_api's 'OCT 22, 2024'); NaT where bad.

    Game dates are cut to midnight (`midnight`); timestamps keep their time of day, in UTC
    when they carry an offset.
    """
    distinct = Distinct(values)
    parsed = pd.to_datetime(distinct.text, format="ISO8601", errors="coerce", utc=True)
    parsed = parsed.dt.tz_localize(None).astype(DATE_DTYPE)
    retry = parsed.isna() & ~distinct.blank
    if retry.any():
        parsed.loc[retry] = pd.to_datetime(
            distinct.text[retry], format="%b %d, %Y", errors="coerce"
        )
    if midnight:
        parsed = parsed.dt.normalize()
    empty = distinct.spread(distinct.blank).astype(bool)
    log.add_cells(rows[empty], values[empty], column, f"the {kind} is empty; fill it in")
    bad = distinct.spread(parsed.isna() & ~distinct.blank).astype(bool)
    log.add_cells(
        rows[bad],
        values[bad],
        column,
        "{value!r} is not a date; write dates as YYYY-MM-DD, e.g. 2024-10-22",
    )
    return distinct.spread(parsed).astype(DATE_DTYPE)


def parse_numbers(
    values: pd.Series,
    rows: pd.Series,
    column: str,
    log: ProblemLog,
    *,
    example: str,
    whole: str | None = None,
    minutes: bool = False,
) -> pd.Series:
    """Numbers of a column (float64, NaN where bad); blanks are left to the caller.

    `example` shows a good value in messages; `whole`, when given, requires whole numbers
    and is the reason the message gives; `minutes` also accepts 'MM:SS'.
    """
    distinct = Distinct(values)
    text = distinct.text.str.lstrip("+")
    numbers = pd.to_numeric(text.where(~distinct.blank), errors="coerce").astype("float64")
    if minutes:
        clock = text.str.extract(_MINUTES_SECONDS)
        has_clock = clock[0].notna()
        numbers.loc[has_clock] = clock.loc[has_clock, 0].astype(float) + (
            clock.loc[has_clock, 1].astype(float) / 60.0
        )
    numbers = numbers.where(np.isfinite(numbers))
    bad = distinct.spread(numbers.isna() & ~distinct.blank).astype(bool)
    log.add_cells(
        rows[bad], values[bad], column, f"{{value!r}} is not a number; write e.g. {example}"
    )
    if whole:
        fractional = distinct.spread(numbers.notna() & (numbers != np.floor(numbers)))
        fractional = fractional.astype(bool)
        message = f"{{value!r}} is not a whole number; {whole}"
        log.add_cells(rows[fractional], values[fractional], column, message)
    return distinct.spread(numbers).astype("float64")


def parse_flags(values: pd.Series, rows: pd.Series, column: str, log: ProblemLog) -> pd.Series:
    """A yes/no column (1/0, true/false, yes/no, home/away) as float 1.0/0.0, NaN where bad."""
    distinct = Distinct(values)
    mapped = distinct.text.str.lower().map(_FLAG_VALUES).astype("float64")
    bad = distinct.spread(mapped.isna()).astype(bool)
    log.add_cells(
        rows[bad], values[bad], column, "{value!r} is not a flag; write 1 (home) or 0 (away)"
    )
    return distinct.spread(mapped).astype("float64")


def clean_text(values: pd.Series, *, case: str | None = None) -> pd.Series:
    """Cells stripped of surrounding spaces (and lower- or upper-cased), '' where empty."""
    distinct = Distinct(values)
    text = distinct.text
    if case == "lower":
        text = text.str.lower()
    elif case == "upper":
        text = text.str.upper()
    return distinct.spread(text)


def future_rows(dates: pd.Series, as_of: dt.date | None, slack_days: int = 0) -> pd.Series:
    """True where a date lies after `as_of` (+ slack); all False when there is no as_of."""
    if as_of is None:
        return pd.Series(False, index=dates.index)
    limit = pd.Timestamp(as_of) + pd.Timedelta(days=slack_days)
    return dates.notna() & (dates > limit)
