"""What a job is and what it returns: a plain function of (settings, run_for) -> JobResult.

Kept free of heavy imports so `jobs/loop/tasks.py` and the child process can import it cheaply.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from nbaprops.settings import Settings

ResultStatus = Literal["succeeded", "skipped", "failed"]
RESULT_STATUSES: tuple[str, ...] = ("succeeded", "skipped", "failed")

# Every status a job-history row can carry: the job's own result, or what the runner saw.
HistoryStatus = Literal[
    "running", "succeeded", "skipped", "failed", "timeout", "terminated", "refused", "missed"
]
HISTORY_STATUSES: tuple[str, ...] = (
    "running",
    "succeeded",
    "skipped",
    "failed",
    "timeout",
    "terminated",
    "refused",
    "missed",
)

Clock = Callable[[], dt.datetime]


class JobResultError(ValueError):
    """A job returned something the history table cannot store; the message says what."""


@dataclass(frozen=True)
class JobResult:
    """A job's outcome: a status and a summary of plain JSON values (counts, ids, reasons)."""

    status: ResultStatus
    summary: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in RESULT_STATUSES:
            raise JobResultError(
                f"JobResult status {self.status!r} is not one of {', '.join(RESULT_STATUSES)}"
            )
        try:
            json.dumps(dict(self.summary), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise JobResultError(
                f"JobResult summary is not plain JSON ({exc}); keep it to str, int, float "
                "(no NaN), bool, None, lists and dicts"
            ) from exc

    @classmethod
    def succeeded(cls, summary: Mapping[str, Any] | None = None) -> JobResult:
        """The job did its work; the summary says what it did."""
        return cls(status="succeeded", summary=dict(summary or {}))

    @classmethod
    def skipped(cls, reason: str, **details: Any) -> JobResult:
        """The job had nothing to do: `reason` is the summary's note (shown in the job history,
        by `nbaprops jobs run` and by `nbaprops simulate`), `details` the rest of the summary."""
        return cls(status="skipped", summary={"note": reason, **details})

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-able values (what the child process hands back)."""
        return {"status": self.status, "summary": dict(self.summary)}

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> JobResult:
        """Inverse of `to_dict`."""
        return cls(status=payload["status"], summary=dict(payload.get("summary") or {}))


class JobFunction(Protocol):
    """The shape of every job: settings and the date it runs for in, a JobResult out."""

    def __call__(self, settings: Settings, run_for: dt.date) -> JobResult: ...


def utc_now() -> dt.datetime:
    """The system clock, aware and in UTC: the one clock the daemon and the CLI pass down."""
    return dt.datetime.now(dt.UTC)
