"""Fixtures for the weekly report tests: a fully populated report and a real SMTP server.

Tests take everything through fixtures (no imports from this file), so the test modules
resolve the same way under pytest and mypy whatever the package layout of tests/.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace

import pytest

from jobs.report.model import (
    CalibrationBin,
    Change,
    DecisionRow,
    DriftRow,
    ModelVersionRef,
    PhaseBest,
    ProductionStatus,
    RunRef,
    RunsByPhase,
    WeeklyReport,
    iso_week_bounds,
)
from jobs.report.render import RenderedReport, render_report
from tests.support.ports import free_port
from tests.support.smtp import Login, SmtpServer

UTC = dt.UTC
GENERATED_AT = dt.datetime(2025, 1, 20, 7, 0, tzinfo=UTC)


def full_report(week: str = "2025-W03") -> WeeklyReport:
    """A report with every section filled with realistic, distinctive figures."""
    start, end = iso_week_bounds(week)
    at = dt.datetime.combine(start, dt.time(6, 0), tzinfo=UTC)
    return WeeklyReport(
        week=week,
        start=start,
        end=end,
        generated_at=GENERATED_AT,
        runs_by_phase=(
            RunsByPhase("baseline", "rolling_avg", 2, 5.214),
            RunsByPhase("tuning", "xgboost", 24, 4.731),
            RunsByPhase("tuning", "lightgbm", 18, 4.756),
            RunsByPhase("ensemble", "ensemble", 3, 4.688),
        ),
        best_val_mae=RunRef(
            "a1b2c3d4e5", "ensemble-0003", "ensemble", "ensemble", "val_mae", 4.688
        ),
        best_wf_roi=RunRef("f6e5d4c3b2", "xgb-tune-0017", "tuning", "xgboost", "wf_roi", 0.0437),
        models_registered=(
            ModelVersionRef(
                "nbaprops-pts", "7", "1.4.0", "candidate", "a1b2c3d4e5f6", at + dt.timedelta(days=2)
            ),
        ),
        avg_training_time_s=187.4,
        best_by_phase=(
            PhaseBest("baseline", "baseline-0002", 5.214, -0.0412, 0.0611, 0.2497),
            PhaseBest("tuning", "xgb-tune-0017", 4.731, 0.0437, 0.0318, 0.2471),
            PhaseBest("ensemble", "ensemble-0003", 4.688, 0.0392, 0.0287, 0.2468),
        ),
        decisions=(
            DecisionRow(
                at + dt.timedelta(days=2, hours=1),
                "scheduler",
                "promote",
                "7",
                "Staging",
                "Production",
                "approved",
                "val MAE 4.688 < champion 4.742 - 0.02; ROI lower bound +0.8% > 0",
            ),
            DecisionRow(
                at + dt.timedelta(days=4),
                "alice",
                "reject",
                "8",
                "candidate",
                "Archived",
                "rejected",
                "ECE 0.071 above the 0.05 gate (1,240 bets)",
            ),
        ),
        drift_events=(
            DriftRow(at + dt.timedelta(days=1), False, 0.043, 1.02, ()),
            DriftRow(
                at + dt.timedelta(days=5),
                True,
                0.318,
                1.137,
                ("PSI of MIN_roll5 0.318 > 0.25", "live MAE 1.137 x val MAE > 1.10"),
            ),
        ),
        production=ProductionStatus(
            "nbaprops-pts",
            "7",
            "1.4.0",
            at + dt.timedelta(days=2, hours=1),
            4.688,
            412,
            4.905,
            0.0312,
            0.5413,
        ),
        vs_last_week=(
            Change("best val MAE", 4.688, 4.742, higher_is_better=False),
            Change("live ROI", 0.0312, 0.0190, higher_is_better=True, kind="percent"),
            Change("runs", 47, 51, higher_is_better=None, kind="count"),
            Change("avg training time", 187.4, 171.0, higher_is_better=False, kind="seconds"),
            Change("drift breaches", 1, None, higher_is_better=False, kind="count"),
        ),
        val_mae_over_time=tuple(
            (at + dt.timedelta(hours=3 * i), 4.9 - 0.004 * i + 0.03 * ((i * 7) % 5 - 2))
            for i in range(47)
        ),
        bankroll=tuple(
            (start + dt.timedelta(days=i), 100.0 + v)
            for i, v in enumerate((0.0, 1.8, -0.9, 2.4, 3.9, 2.7, 4.6))
        ),
        calibration=tuple(
            CalibrationBin(p, p + d, n)
            for p, d, n in (
                (0.42, 0.021, 61),
                (0.46, -0.012, 148),
                (0.50, 0.008, 231),
                (0.54, -0.019, 187),
                (0.58, 0.027, 96),
                (0.62, -0.04, 31),
            )
        ),
        notes=("Tracking store answered in 0.3 s; 47 runs scanned.",),
    )


@pytest.fixture
def report() -> WeeklyReport:
    return full_report()


@pytest.fixture(scope="session")
def small_rendered() -> RenderedReport:
    """A report without charts: quick to send many times where only delivery is under test."""
    return render_report(replace(full_report(), val_mae_over_time=(), bankroll=(), calibration=()))


@pytest.fixture(scope="session")
def rendered() -> RenderedReport:
    """The full report rendered once (drawing its charts takes about half a second)."""
    return render_report(full_report())


#: The login the report's server accepts: a distinctive password, to search for leaks; like a
#: careless server, it echoes a wrong password back in its 535 reply.
REPORT_LOGIN = Login("reporter", "pw-Zq81-DISTINCTIVE-xK9", echo_wrong_password=True)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 that takes REPORT_LOGIN; restartable on its port."""
    server = SmtpServer(login=REPORT_LOGIN).start()
    yield server
    server.stop()


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once."""
    return free_port()
