"""Errors and warnings of the data layer, each worded so the user knows what to fix next."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# How many problems one error message lists before it summarises the rest.
MAX_LISTED_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where it is (file, line, column) and how to fix it.

    `row` is the line number a user sees in an editor (the header is line 1), or None when the
    problem concerns the whole file; `column` is the header as written in the file, or None.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"line {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}"


class DataValidationError(ValueError):
    """Input data that cannot be used as it is; lists every problem found in the file.

    `file`, `row` and `column` are those of the first problem, for callers that want one place.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("DataValidationError needs at least one problem")
        self.problems: tuple[Problem, ...] = tuple(problems)
        first = self.problems[0]
        self.file: str = first.file
        self.row: int | None = first.row
        self.column: str | None = first.column
        super().__init__(self._render())

    @classmethod
    def single(
        cls, file: str, message: str, row: int | None = None, column: str | None = None
    ) -> DataValidationError:
        """An error with exactly one problem."""
        return cls([Problem(file, row, column, message)])

    def _render(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        files = sorted({p.file for p in self.problems})
        head = (
            f"{len(self.problems)} problems in {', '.join(files)}; "
            "fix them and validate again (`nbaprops data validate FOLDER`):"
        )
        lines = [head] + [f"  - {p}" for p in self.problems[:MAX_LISTED_PROBLEMS]]
        hidden = len(self.problems) - MAX_LISTED_PROBLEMS
        if hidden > 0:
            lines.append(f"  ... and {hidden} more problem(s) of the same kinds")
        return "\n".join(lines)


class OutputFolderError(ValueError):
    """A folder that a feed cannot be written to (it exists already or is not writable)."""


class DataSourceError(DataValidationError):
    """A data setting that names no usable source (e.g. NBAPROPS_DATA points nowhere)."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__([Problem(setting, None, None, message)])


class DataWarning(UserWarning):
    """Usable data with gaps (absent optional columns or lines.csv) that switch things off."""
