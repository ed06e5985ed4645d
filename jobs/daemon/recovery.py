"""Clean up after a killed process: close its job-history rows and fail its MLflow runs.

A run's owner holds the job's lock for the whole run, so a 'running' row whose lock is free
was left by a dead process. MLflow runs opened by a job carry the tags below (the runner
passes them to the child through MLFLOW_RUN_CONTEXT), so a RUNNING run can be traced to its
job-history row; runs without them belong to someone's lab command and are only failed when
older than a threshold.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from jobs.daemon.history import HistoryRow, JobHistory
from jobs.daemon.locks import job_lock
from nbaprops.settings import Settings

log = logging.getLogger(__name__)

RUN_TAG_JOB = "nbaprops.job"
RUN_TAG_JOB_RUN = "nbaprops.job_run"
RUN_TAG_DAEMON = "nbaprops.daemon"
RUN_CONTEXT_VARIABLE = "MLFLOW_RUN_CONTEXT"
ORPHAN_SEARCH_LIMIT = 500


def run_context(existing: str | None, tags: Mapping[str, str]) -> str:
    """MLFLOW_RUN_CONTEXT with `tags` added (MLflow puts these tags on every fluent run)."""
    merged: dict[str, Any] = {}
    if existing:
        try:
            merged = dict(json.loads(existing))
        except (ValueError, TypeError):
            merged = {}
    merged.update(tags)
    return json.dumps(merged, sort_keys=True)


def dead_owner_message(row: HistoryRow) -> str:
    """Why a stale row is closed: its owner ended without closing it."""
    return (
        f"process {row.pid} on host {row.host} ended without closing this run "
        "(killed, or the machine stopped); the job did not finish"
    )


def close_stale_rows(history: JobHistory, job: str, now: dt.datetime) -> list[int]:
    """Close `job`'s 'running' rows as failed; call only while holding the job's lock."""
    closed = []
    for row in history.running(job):
        if history.close_run(row.id, now, "failed", error=dead_owner_message(row)):
            closed.append(row.id)
    return closed


def close_dead_runs(
    settings: Settings, engine: sa.Engine, history: JobHistory, now: dt.datetime
) -> list[int]:
    """Close every 'running' row whose job lock is free (its owner is gone)."""
    closed: list[int] = []
    for job in sorted({row.job for row in history.running()}):
        lock = job_lock(settings, engine, job)
        if not lock.try_acquire():
            continue  # still running elsewhere
        try:
            closed.extend(close_stale_rows(history, job, now))
        finally:
            lock.release()
    return closed


def tracking_store_exists(settings: Settings) -> bool:
    """False when the embedded SQLite tracking store was never created (nothing to clean)."""
    uri = settings.resolved_tracking_uri
    if uri.startswith("sqlite"):
        database = make_url(uri).database
        return bool(database) and Path(str(database)).exists()
    return True


def _client(settings: Settings) -> Any:
    from mlflow.tracking import MlflowClient

    from nbaprops.tracking.setup import quiet_mlflow

    quiet_mlflow()
    uri = settings.resolved_tracking_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _fail_run(client: Any, run_id: str, end_ms: int) -> None:
    """Mark one run FAILED; MLflow's "View run" line for an HTTP store goes to stderr, so a
    command's --json output on stdout stays JSON."""
    with contextlib.redirect_stdout(sys.stderr):
        client.set_terminated(run_id, status="FAILED", end_time=end_ms)


def _project_experiment_ids(client: Any) -> list[str]:
    from nbaprops.tracking.setup import PROJECT_TAG

    experiments = client.search_experiments(filter_string=f"tags.project = '{PROJECT_TAG}'")
    return [e.experiment_id for e in experiments]


def _running_runs(client: Any, extra_filter: str = "") -> list[Any]:
    """RUNNING runs of the project's experiments, bounded."""
    experiment_ids = _project_experiment_ids(client)
    if not experiment_ids:
        return []
    query = "attributes.status = 'RUNNING'" + (f" and {extra_filter}" if extra_filter else "")
    runs: list[Any] = client.search_runs(
        experiment_ids, filter_string=query, max_results=ORPHAN_SEARCH_LIMIT
    )
    return runs


def fail_runs_of_job_run(settings: Settings, row_id: int, now: dt.datetime) -> list[str]:
    """Mark FAILED the MLflow runs a killed job run left RUNNING."""
    return _fail_running_runs_tagged(settings, RUN_TAG_JOB_RUN, str(row_id), now)


def fail_runs_left_by_job(settings: Settings, job: str, now: dt.datetime) -> list[str]:
    """Mark FAILED the RUNNING MLflow runs of earlier runs of `job`; call only while holding
    the job's lock and before opening the new run's row (so none of them is still alive).

    A run is left RUNNING when the tracking store went down before the job could end it (the
    job then failed on the outage); the next run of the job closes it once the store is back.
    """
    return _fail_running_runs_tagged(settings, RUN_TAG_JOB, job, now)


def _fail_running_runs_tagged(
    settings: Settings, tag: str, value: str, now: dt.datetime
) -> list[str]:
    """Mark FAILED, ended at `now`, the RUNNING project runs whose `tag` is `value`; their ids.

    Nothing to do (an empty list) when the tracking store was never created.
    """
    if not tracking_store_exists(settings):
        return []
    client = _client(settings)
    runs = _running_runs(client, f"tags.`{tag}` = '{value}'")
    end_ms = int(now.timestamp() * 1000)
    for run in runs:
        _fail_run(client, run.info.run_id, end_ms)
    return [run.info.run_id for run in runs]


def fail_orphaned_runs(
    settings: Settings,
    history: JobHistory,
    now: dt.datetime,
    *,
    daemon_identity: str,
    untagged_min_age_seconds: float,
) -> list[str]:
    """At daemon start-up: mark FAILED the RUNNING MLflow runs whose process is gone.

    A job's run is orphaned when its history row is no longer 'running'; a run of an earlier
    daemon's in-process job when that daemon is not this one; any other run when it started
    more than `untagged_min_age_seconds` ago.
    """
    if not tracking_store_exists(settings):
        return []
    client = _client(settings)
    live_rows = {str(row.id) for row in history.running()}
    now_ms = int(now.timestamp() * 1000)
    untagged_before_ms = now_ms - int(untagged_min_age_seconds * 1000)
    failed = []
    for run in _running_runs(client):
        tags = run.data.tags
        if RUN_TAG_JOB_RUN in tags:
            orphaned = tags[RUN_TAG_JOB_RUN] not in live_rows
        elif RUN_TAG_DAEMON in tags:
            orphaned = tags[RUN_TAG_DAEMON] != daemon_identity
        else:
            orphaned = run.info.start_time < untagged_before_ms
        if orphaned:
            _fail_run(client, run.info.run_id, now_ms)
            failed.append(run.info.run_id)
    if failed:
        log.warning("marked %d MLflow run(s) left RUNNING as FAILED: %s", len(failed), failed)
    return failed
