"""Jobs that misbehave on purpose, for the fault-injection tests of the scheduler.

They are declared in jobs/daemon/catalogue.py as `fault_*` jobs but never scheduled unless a
test (or an operator rehearsing an incident) names them in NBAPROPS_JOBS and gives them a
schedule. Their knobs come from NBAPROPS_FAULT_* variables so a test can set them for the
daemon's children.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from jobs.daemon.types import JobResult
from nbaprops.settings import Settings


class FaultSettings(BaseSettings):
    """Knobs of the fault jobs (prefix NBAPROPS_FAULT_)."""

    model_config = SettingsConfigDict(env_prefix="NBAPROPS_FAULT_", extra="ignore")

    sleep_seconds: float = Field(default=5.0, ge=0, description="fault_sleep's nap.")
    hang_ignores_sigterm: bool = Field(
        default=False, description="fault_hang ignores SIGTERM, so only SIGKILL stops it."
    )
    marker_file: Path | None = Field(
        default=None, description="Where marker lines go (default <home>/fault-markers.log)."
    )


class InjectedFault(RuntimeError):
    """The failure fault_raise raises on purpose."""


def _marker_path(settings: Settings) -> Path:
    return FaultSettings().marker_file or settings.home / "fault-markers.log"


def _write_marker(settings: Settings, run_for: dt.date, note: str) -> Path:
    """Append `<run_for> <pid> <note>` to the marker file (one line per run)."""
    path = _marker_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{run_for.isoformat()} {os.getpid()} {note}\n")
    return path


def raise_error(settings: Settings, run_for: dt.date) -> JobResult:
    """Fail with an exception."""
    raise InjectedFault(f"fault_raise: injected failure for {run_for.isoformat()}")


def hang(settings: Settings, run_for: dt.date) -> JobResult:
    """Never return; with NBAPROPS_FAULT_HANG_IGNORES_SIGTERM=true, ignore SIGTERM too."""
    if FaultSettings().hang_ignores_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _write_marker(settings, run_for, "hang-started")
    while True:
        time.sleep(0.5)


def hang_in_mlflow_run(settings: Settings, run_for: dt.date) -> JobResult:
    """Open an MLflow run in the monitoring experiment, then never return (like `hang`)."""
    from nbaprops.tracking.runlog import start_tracked_run
    from nbaprops.tracking.setup import MONITORING_EXPERIMENT, init_tracking

    client = init_tracking(settings)
    experiment = client.get_experiment_by_name(MONITORING_EXPERIMENT)
    assert experiment is not None
    if FaultSettings().hang_ignores_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with start_tracked_run(experiment.experiment_id, "fault-hang", {}, client=client) as run:
        _write_marker(settings, run_for, f"run-opened {run.info.run_id}")
        while True:
            time.sleep(0.5)


def sleep_then_succeed(settings: Settings, run_for: dt.date) -> JobResult:
    """Sleep NBAPROPS_FAULT_SLEEP_SECONDS, then succeed (a job that is simply slow)."""
    seconds = FaultSettings().sleep_seconds
    _write_marker(settings, run_for, "sleep-started")
    time.sleep(seconds)
    _write_marker(settings, run_for, "sleep-done")
    return JobResult(status="succeeded", summary={"slept_seconds": seconds})


def write_marker(settings: Settings, run_for: dt.date) -> JobResult:
    """Append one marker line and succeed (proves a run happened, and how many times)."""
    path = _write_marker(settings, run_for, "marker")
    return JobResult(
        status="succeeded", summary={"marker_file": str(path), "run_for": run_for.isoformat()}
    )
