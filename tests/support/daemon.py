"""The scheduler daemon as a real process, and its job store edited as a stopped daemon left it.

The daemon tests of several suites start `scheduler start` in a subprocess (`DaemonProcess`),
wait on what it writes, and stop it with a signal; some first seed the job store with runs
that came due while no daemon ran (`seed_job_store`).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.base import BaseScheduler

from nbaprops.settings import Settings

if TYPE_CHECKING:
    from jobs.daemon.schedule_settings import SchedulerSettings

T = TypeVar("T")


class DaemonProcess:
    """A daemon command in a subprocess, with its output in a file."""

    def __init__(
        self,
        command: Sequence[str],
        env: dict[str, str],
        cwd: Path,
        log_path: Path,
        wait_seconds: float,
    ) -> None:
        self.command = list(command)
        self.env = env
        self.cwd = cwd
        self.log_path = log_path
        self.wait_seconds = wait_seconds
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> DaemonProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def output(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_for(self, probe: Callable[[], T], what: str, timeout: float | None = None) -> T:
        """Poll `probe` until it returns something truthy; fail with the daemon's output."""
        timeout = self.wait_seconds if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            if not self.alive():
                pytest.fail(f"daemon exited while waiting for {what}:\n{self.output}")
            time.sleep(0.1)
        pytest.fail(f"timed out after {timeout:g} s waiting for {what}:\n{self.output}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float | None = None) -> int:
        """Send `sig` and return the exit code."""
        timeout = self.wait_seconds if timeout is None else timeout
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"daemon did not exit within {timeout:g} s of {sig}:\n{self.output}")

    def kill(self) -> None:
        """SIGKILL the daemon if it still runs (a test's clean-up)."""
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait()


class StoreEditor(BaseScheduler):
    """A scheduler with no main loop: it edits a job store through the public API and never
    runs a job (a BackgroundScheduler's thread would process due jobs after shutdown)."""

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def wakeup(self) -> None:
        """Nothing to wake: this scheduler never processes jobs."""


def store_editor(engine: sa.Engine, timezone: str) -> StoreEditor:
    """A started (paused) StoreEditor on the SQLAlchemy job store of `engine`."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    from jobs.daemon.reconcile import JOBSTORE, JOBSTORE_TABLE

    store = SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)
    editor = StoreEditor(timezone=timezone, jobstores={JOBSTORE: store})
    editor.start(paused=True)
    return editor


def seed_job_store(
    settings: Settings, scheduler: SchedulerSettings, next_runs: dict[str, dt.datetime]
) -> None:
    """Write the declared jobs into the job store, as a stopped daemon would have left them,
    with the given next run times (in the past: runs that came due during an outage)."""
    from jobs.daemon.catalogue import planned_jobs
    from jobs.daemon.reconcile import JOBSTORE, reconcile

    settings.home.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(settings.resolved_database_url)
    seeder = store_editor(engine, scheduler.timezone)
    try:
        reconcile(seeder, planned_jobs(scheduler), scheduler.misfire_grace_seconds)
        for job, when in next_runs.items():
            seeder.modify_job(job, jobstore=JOBSTORE, next_run_time=when)
    finally:
        seeder.shutdown(wait=False)
        engine.dispose()


def pid_alive(pid: int) -> bool:
    """True while process `pid` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
