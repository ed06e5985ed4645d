"""The weekly report's content as plain, frozen data, plus ISO-week helpers.

The queries that fill it live elsewhere; rendering and delivery only read it. Ratios such as
ROI and win rate are fractions (0.052 means 5.2%); MAE is in points of the target stat.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from jobs.report.trend.model import SeasonTrend

_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")

ChangeKind = Literal["number", "percent", "count", "seconds"]


class ReportWeekError(ValueError):
    """A week label that is not an ISO week such as 2025-W03."""


def iso_week_bounds(week: str) -> tuple[dt.date, dt.date]:
    """The half-open date range [Monday, next Monday) of an ISO week label such as '2025-W03'."""
    match = _WEEK_RE.match(week)
    if not match:
        raise ReportWeekError(
            f"week {week!r} is not an ISO week label; write it as YYYY-Www, e.g. 2025-W03"
        )
    year, number = int(match.group(1)), int(match.group(2))
    try:
        monday = dt.date.fromisocalendar(year, number, 1)
    except ValueError:
        raise ReportWeekError(
            f"week {week!r} does not exist: ISO year {year} has weeks 01 to "
            f"{dt.date(year, 12, 28).isocalendar().week:02d}"
        ) from None
    return monday, monday + dt.timedelta(days=7)


def week_of(day: dt.date) -> str:
    """The ISO week label ('2025-W03') a date (or datetime) falls in."""
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def previous_week(week: str) -> str:
    """The ISO week label just before `week`, for week-on-week comparisons."""
    monday, _ = iso_week_bounds(week)
    return week_of(monday - dt.timedelta(days=7))


@dataclass(frozen=True)
class RunRef:
    """One MLflow run singled out by a metric (e.g. the week's best validation MAE)."""

    run_id: str
    run_name: str
    phase: str
    model_type: str
    metric: str
    value: float


@dataclass(frozen=True)
class RunsByPhase:
    """How many runs a phase and model type logged this week, and the best val MAE among them."""

    phase: str
    model_type: str
    count: int
    best_val_mae: float | None = None


@dataclass(frozen=True)
class ModelVersionRef:
    """A model version registered this week and where it stands in its lifecycle."""

    name: str
    version: str
    semver: str | None
    lifecycle: str
    run_id: str
    registered_at: dt.datetime


@dataclass(frozen=True)
class PhaseBest:
    """The best run of one phase, so that phases can be compared side by side."""

    phase: str
    run_name: str
    val_mae: float | None = None
    wf_roi: float | None = None
    calibration_error: float | None = None
    brier_score: float | None = None


@dataclass(frozen=True)
class DecisionRow:
    """One governance decision from the audit trail (promotion, rejection, rollback...)."""

    at: dt.datetime
    actor: str
    action: str
    version: str | None
    from_state: str | None
    to_state: str | None
    verdict: str
    reason: str


@dataclass(frozen=True)
class DriftRow:
    """One drift check and whether it breached its thresholds."""

    at: dt.datetime
    breached: bool
    psi_max: float | None
    live_mae_ratio: float | None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProductionStatus:
    """The model serving predictions now, and how its settled live bets went."""

    name: str
    version: str
    semver: str | None
    promoted_at: dt.datetime | None
    val_mae: float | None
    live_settled_count: int = 0
    live_mae: float | None = None
    live_roi: float | None = None
    live_win_rate: float | None = None


@dataclass(frozen=True)
class Change:
    """A headline metric this week against last week; `higher_is_better` gives the arrow's colour.

    `kind` says how to print it: 'number' (3 decimals), 'percent' (a fraction shown as %),
    'count' (an integer) or 'seconds'.
    """

    metric: str
    this_week: float | None
    last_week: float | None
    higher_is_better: bool | None = None
    kind: ChangeKind = "number"

    @property
    def delta(self) -> float | None:
        """This week minus last week, or None when either side is missing."""
        if self.this_week is None or self.last_week is None:
            return None
        return self.this_week - self.last_week

    @property
    def better(self) -> bool | None:
        """True if the move is an improvement, False if worse, None if flat or unknown."""
        delta = self.delta
        if delta is None or delta == 0 or self.higher_is_better is None:
            return None
        return (delta > 0) == self.higher_is_better


@dataclass(frozen=True)
class CalibrationBin:
    """One bin of a reliability diagram: mean predicted P(over), observed over rate, bet count."""

    mean_p: float
    mean_y: float
    count: int


@dataclass(frozen=True)
class WeeklyReport:
    """Everything the weekly email shows, for the ISO week [start, end)."""

    week: str
    start: dt.date
    end: dt.date
    generated_at: dt.datetime
    runs_by_phase: tuple[RunsByPhase, ...] = ()
    best_val_mae: RunRef | None = None
    best_wf_roi: RunRef | None = None
    models_registered: tuple[ModelVersionRef, ...] = ()
    avg_training_time_s: float | None = None
    best_by_phase: tuple[PhaseBest, ...] = ()
    decisions: tuple[DecisionRow, ...] = ()
    drift_events: tuple[DriftRow, ...] = ()
    production: ProductionStatus | None = None
    vs_last_week: tuple[Change, ...] = ()
    val_mae_over_time: tuple[tuple[dt.datetime, float], ...] = ()
    bankroll: tuple[tuple[dt.date, float], ...] = ()
    calibration: tuple[CalibrationBin, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    trend: SeasonTrend | None = None

    @classmethod
    def empty(cls, week: str, generated_at: dt.datetime) -> WeeklyReport:
        """A report of a week in which nothing happened (still worth sending: silence is news)."""
        start, end = iso_week_bounds(week)
        return cls(week=week, start=start, end=end, generated_at=generated_at)

    @property
    def last_day(self) -> dt.date:
        """The Sunday that closes the week (`end` is exclusive)."""
        return self.end - dt.timedelta(days=1)

    @property
    def total_runs(self) -> int:
        """All runs logged this week, over every phase and model type."""
        return sum(row.count for row in self.runs_by_phase)

    @property
    def drift_breaches(self) -> int:
        """How many drift checks breached their thresholds."""
        return sum(1 for row in self.drift_events if row.breached)
