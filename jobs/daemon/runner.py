"""Run one job, the same way for the daemon and the CLI: lock, history row, isolation, outcome.

Heavy jobs run in a child process (`python -m jobs.daemon.child`) in a session of their own, with a
hard timeout: on timeout or when the daemon stops, the child's process group gets SIGTERM,
then SIGKILL after a grace period, and any MLflow run it left RUNNING is marked FAILED.
Light jobs run in the caller's thread. Either way the job's lock is held for the whole run
and the outcome is written to job_history.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from jobs.daemon.catalogue import JobSpec
from jobs.daemon.child import child_command, child_environment
from jobs.daemon.history import HistoryRow, JobHistory
from jobs.daemon.locks import job_lock
from jobs.daemon.recovery import (
    RUN_TAG_JOB,
    RUN_TAG_JOB_RUN,
    close_stale_rows,
    fail_runs_left_by_job,
    fail_runs_of_job_run,
)
from jobs.daemon.schedule_settings import SchedulerSettings
from jobs.daemon.types import Clock, HistoryStatus, JobResult, utc_now
from nbaprops.settings import Settings
from nbaprops.tracking.outage import mask_passwords

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2


class JobBusyError(RuntimeError):
    """The job is already running elsewhere (the daemon or another CLI); nothing was started."""

    def __init__(self, job: str, holders: list[HistoryRow]) -> None:
        self.job = job
        self.holders = holders
        if holders:
            row = holders[-1]
            where = (
                f" (run {row.id} for {row.run_for}, started {row.started_at:%Y-%m-%d %H:%M:%S}"
                f" UTC by pid {row.pid} on {row.host}, {row.trigger})"
            )
        else:
            where = ""
        super().__init__(
            f"job {job} is already running{where}; wait for it with --wait, or try later"
        )


@dataclass(frozen=True)
class RunOutcome:
    """What happened to one run: its history row, status, summary and error."""

    history_id: int
    job: str
    run_for: dt.date
    status: HistoryStatus
    started_at: dt.datetime
    ended_at: dt.datetime
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the job succeeded or chose to skip."""
        return self.status in ("succeeded", "skipped")

    def to_dict(self) -> dict[str, Any]:
        """The outcome as JSON-able values."""
        return {
            "history_id": self.history_id,
            "job": self.job,
            "run_for": self.run_for.isoformat(),
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat(),
            "duration_seconds": round((self.ended_at - self.started_at).total_seconds(), 3),
            "summary": self.summary,
            "error": self.error,
        }


@dataclass(frozen=True)
class _Ending:
    """How a job body ended, before it is written to history."""

    status: HistoryStatus
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    killed: bool = False  # the runner stopped it: its MLflow runs may be left RUNNING


class JobRunner:
    """Runs declared jobs under their lock and records each run in job_history.

    `stopping` is set by the daemon on SIGTERM: a running child then gets
    `stop_deadline_seconds` more before it is terminated; `hurry` terminates it at once.
    """

    def __init__(
        self,
        settings: Settings,
        scheduler_settings: SchedulerSettings,
        engine: sa.Engine,
        *,
        clock: Clock = utc_now,
        extra_run_tags: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.scheduler_settings = scheduler_settings
        self.engine = engine
        self.history = JobHistory(engine)
        self.clock = clock
        self.extra_run_tags = dict(extra_run_tags or {})
        self.stopping = threading.Event()
        self.hurry = threading.Event()
        self.pid = os.getpid()
        self.host = socket.gethostname()

    def timeout_for(self, spec: JobSpec) -> float:
        """`spec`'s hard timeout after settings overrides."""
        return self.scheduler_settings.timeout_for(spec.name, spec.timeout_seconds)

    def run(
        self,
        spec: JobSpec,
        run_for: dt.date,
        *,
        trigger: str,
        wait: bool = False,
        scheduled_at: dt.datetime | None = None,
        record_refusal: bool = False,
    ) -> RunOutcome:
        """Run `spec` for `run_for` under its lock; JobBusyError if held and not `wait`."""
        lock = job_lock(self.settings, self.engine, spec.name)
        if not lock.try_acquire():
            if not wait:
                busy = JobBusyError(spec.name, self.history.running(spec.name))
                if record_refusal:
                    self.history.record_event(
                        spec.name, run_for, self.clock(), "refused", trigger=trigger,
                        pid=self.pid, host=self.host, error=str(busy), scheduled_at=scheduled_at,
                    )  # fmt: skip
                raise busy
            lock.acquire()
        try:
            close_stale_rows(self.history, spec.name, self.clock())
            if spec.heavy:
                self._fail_runs_left_by_earlier_runs(spec.name)
            started_at = self.clock()
            row_id = self.history.open_run(
                spec.name, run_for, started_at, trigger=trigger, pid=self.pid, host=self.host,
                scheduled_at=scheduled_at,
            )  # fmt: skip
            log.info("job %s (run %d) started for %s [%s]", spec.name, row_id, run_for, trigger)
            try:
                if spec.heavy:
                    ending = self._run_in_child(spec, run_for, row_id)
                else:
                    ending = self._run_in_thread(spec, run_for)
            except BaseException as exc:
                self.history.close_run(
                    row_id, self.clock(), "terminated", error=f"interrupted: {exc!r}"
                )
                raise
            if ending.killed or (spec.heavy and ending.status == "failed"):
                self._fail_left_runs(row_id)  # a job failed by an outage could not end its runs
            ended_at = self.clock()
            self.history.close_run(
                row_id, ended_at, ending.status, summary=ending.summary, error=ending.error
            )
            log.info("job %s (run %d) ended: %s", spec.name, row_id, ending.status)
            return RunOutcome(
                row_id, spec.name, run_for, ending.status, started_at, ended_at,
                ending.summary, ending.error,
            )  # fmt: skip
        finally:
            lock.release()

    def _run_in_thread(self, spec: JobSpec, run_for: dt.date) -> _Ending:
        """Call a light job directly; an exception becomes a failed ending."""
        try:
            result = spec.resolve()(self.settings, run_for)
            if not isinstance(result, JobResult):
                raise TypeError(
                    f"job {spec.name} returned {type(result).__name__}; return a JobResult"
                )
        except Exception:
            return _Ending("failed", error=traceback.format_exc())
        return _Ending(result.status, dict(result.summary))

    def _run_in_child(self, spec: JobSpec, run_for: dt.date, row_id: int) -> _Ending:
        """Run a heavy job in a child process and supervise it."""
        result_file = self.settings.home / "runs" / f"{row_id}.json"
        log_file = self.settings.home / "logs" / "jobs" / f"{spec.name}-{row_id}.log"
        result_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        tags = {**self.extra_run_tags, RUN_TAG_JOB: spec.name, RUN_TAG_JOB_RUN: str(row_id)}
        env = child_environment(self.settings, os.environ, tags)
        command = child_command(spec.name, run_for, result_file)
        timeout = self.timeout_for(spec)
        with log_file.open("ab") as output:
            child = subprocess.Popen(
                command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
            reason = self._supervise(child, timeout)
        payload = self._read_outcome(result_file)
        where = f"(log: {log_file})"
        if reason == "timeout":
            return _Ending(
                "timeout",
                error=f"job exceeded its {timeout:g} s timeout; its process was stopped {where}",
                killed=True,
            )
        if reason == "terminated":
            deadline = self.scheduler_settings.stop_deadline_seconds
            return _Ending(
                "terminated",
                error=f"the scheduler was stopped and the job did not finish within the "
                f"{deadline:g} s stop deadline; its process was stopped {where}",
                killed=True,
            )
        if payload is None:
            return _Ending(
                "failed",
                error=f"the job's process exited with code {child.returncode} without "
                f"reporting an outcome {where}",
                killed=True,
            )
        status = payload.get("status")
        if status in ("succeeded", "skipped"):
            return _Ending(status, dict(payload.get("summary") or {}))
        if status == "terminated":
            return _Ending("terminated", error=f"{payload.get('error')} {where}", killed=True)
        return _Ending("failed", error=f"{payload.get('error')}\n{where}")

    def _supervise(self, child: subprocess.Popen[bytes], timeout: float) -> str | None:
        """Wait for `child`; stop it on timeout or daemon stop. The reason it was stopped."""
        deadline = time.monotonic() + timeout
        stop_at: float | None = None
        try:
            while True:
                try:
                    child.wait(timeout=POLL_SECONDS)
                    return None
                except subprocess.TimeoutExpired:
                    pass
                now = time.monotonic()
                if self.stopping.is_set() and stop_at is None:
                    stop_at = now + self.scheduler_settings.stop_deadline_seconds
                if self.hurry.is_set():
                    stop_at = now
                if now >= deadline:
                    self._stop_child(child)
                    return "timeout"
                if stop_at is not None and now >= stop_at:
                    self._stop_child(child)
                    return "terminated"
        except BaseException:
            self._stop_child(child)
            raise

    def _stop_child(self, child: subprocess.Popen[bytes]) -> None:
        """SIGTERM the child's process group, then SIGKILL after the grace period."""
        for sig, grace in (
            (signal.SIGTERM, self.scheduler_settings.kill_grace_seconds),
            (signal.SIGKILL, None),
        ):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, sig)
            try:
                child.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                log.warning("job process %d ignored SIGTERM; killing it", child.pid)

    @staticmethod
    def _read_outcome(result_file: Path) -> dict[str, Any] | None:
        """The child's JSON outcome, or None if it wrote none; the file is removed."""
        try:
            payload: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        finally:
            with contextlib.suppress(OSError):
                result_file.unlink()
        return payload

    def _fail_runs_left_by_earlier_runs(self, job: str) -> None:
        """Close the MLflow runs an earlier run of `job` could not end (best effort, logged):
        a retry after an outage starts from a store without runs left RUNNING."""
        try:
            failed = fail_runs_left_by_job(self.settings, job, self.clock())
        except Exception as exc:
            log.warning("could not check MLflow for runs of %s left RUNNING: %s", job,
                        mask_passwords(str(exc)))  # fmt: skip
            return
        if failed:
            log.warning("earlier runs of %s left MLflow runs RUNNING; marked FAILED: %s", job,
                        failed)  # fmt: skip

    def _fail_left_runs(self, row_id: int) -> None:
        """Mark FAILED the MLflow runs a stopped child left RUNNING (best effort, logged)."""
        try:
            failed = fail_runs_of_job_run(self.settings, row_id, self.clock())
        except Exception as exc:
            log.warning(
                "could not check MLflow for runs left RUNNING by job run %d (the next run of "
                "the job closes them): %s", row_id, mask_passwords(str(exc)),
            )  # fmt: skip
            return
        if failed:
            log.warning("job run %d left MLflow runs RUNNING; marked FAILED: %s", row_id, failed)
