"""Bring the job store in line with the declared jobs without losing pending runs.

Adds missing jobs, reschedules a job whose trigger changed (cron fields or time zone), and
refreshes a job whose options changed (grace time, executor) while keeping its stored next
run time, so a run that came due while the daemon was down still happens. Jobs no longer
declared are removed. An unchanged job is not touched at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apscheduler.job import Job
from apscheduler.schedulers.base import BaseScheduler

from jobs.daemon.catalogue import PlannedJob

JOBSTORE = "default"
JOBSTORE_TABLE = "apscheduler_jobs"
RUN_SCHEDULED_REF = "jobs.daemon.scheduler:run_scheduled"
LIGHT_EXECUTOR = "default"
HEAVY_EXECUTOR = "heavy"


@dataclass
class ReconcileReport:
    """What reconciliation did, by job name."""

    added: list[str] = field(default_factory=list)
    rescheduled: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[str]]:
        """The report as plain lists."""
        return {
            "added": self.added,
            "rescheduled": self.rescheduled,
            "refreshed": self.refreshed,
            "kept": self.kept,
            "removed": self.removed,
        }


def job_options(planned: PlannedJob, misfire_grace_seconds: int) -> dict[str, Any]:
    """The stored options of a declared job (everything but the trigger)."""
    return {
        "func": RUN_SCHEDULED_REF,
        "kwargs": {"job_name": planned.spec.name},
        "id": planned.spec.name,
        "name": planned.spec.name,
        "executor": HEAVY_EXECUTOR if planned.spec.heavy else LIGHT_EXECUTOR,
        "misfire_grace_time": misfire_grace_seconds,
        "coalesce": True,
        "max_instances": 1,
    }


def _options_differ(job: Job, options: dict[str, Any]) -> bool:
    stored = {
        "func": job.func_ref,
        "kwargs": dict(job.kwargs),
        "id": job.id,
        "name": job.name,
        "executor": job.executor,
        "misfire_grace_time": job.misfire_grace_time,
        "coalesce": job.coalesce,
        "max_instances": job.max_instances,
    }
    return stored != options or tuple(job.args) != ()


def reconcile(
    scheduler: BaseScheduler,
    planned: list[PlannedJob],
    misfire_grace_seconds: int,
    jobstore: str = JOBSTORE,
) -> ReconcileReport:
    """Reconcile a started (paused) scheduler's `jobstore` with `planned`."""
    report = ReconcileReport()
    stored: dict[str, Job] = {job.id: job for job in scheduler.get_jobs(jobstore=jobstore)}
    for item in planned:
        options = job_options(item, misfire_grace_seconds)
        existing = stored.pop(item.spec.name, None)
        if existing is None:
            scheduler.add_job(trigger=item.trigger, jobstore=jobstore, **options)
            report.added.append(item.spec.name)
        elif repr(existing.trigger) != repr(item.trigger):
            scheduler.add_job(
                trigger=item.trigger, jobstore=jobstore, replace_existing=True, **options
            )
            report.rescheduled.append(item.spec.name)
        elif _options_differ(existing, options):
            scheduler.add_job(
                trigger=item.trigger,
                jobstore=jobstore,
                replace_existing=True,
                next_run_time=existing.next_run_time,
                **options,
            )
            report.refreshed.append(item.spec.name)
        else:
            report.kept.append(item.spec.name)
    for job_id in sorted(stored):
        scheduler.remove_job(job_id, jobstore)
        report.removed.append(job_id)
    return report
