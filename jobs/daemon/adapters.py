"""APScheduler 3 adapted to the daemon: an executor that passes on the scheduled time, a
scheduler that stops cleanly, and what its job events mean for job history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.schedulers.blocking import BlockingScheduler

from jobs.daemon.reconcile import RUN_SCHEDULED_REF
from jobs.daemon.types import HistoryStatus


class ScheduledTimeExecutor(ThreadPoolExecutor):
    """A thread pool that tells `run_scheduled` the time the run was scheduled for.

    APScheduler does not pass the scheduled time to the job; the run's date is derived from it
    (a run caught up after midnight still runs for the day it was due), so the submitted job is
    a copy whose kwargs carry it. The stored job is left as it was.
    """

    def _do_submit_job(self, job: Job, run_times: list[dt.datetime]) -> None:
        if job.func_ref == RUN_SCHEDULED_REF and run_times:
            copy = Job.__new__(Job)
            copy.__setstate__(job.__getstate__())
            copy._scheduler = job._scheduler
            copy._jobstore_alias = job._jobstore_alias
            copy.kwargs = {**job.kwargs, "scheduled_at": run_times[-1].isoformat()}
            job = copy
        super()._do_submit_job(job, run_times)


class DaemonScheduler(BlockingScheduler):
    """A BlockingScheduler that processes no jobs once shut down.

    APScheduler 3's main loop runs one more round after `shutdown()` wakes it; a run due at
    that moment would be handed to a closed executor and its trigger advanced: lost silently.
    """

    def _process_jobs(self) -> float | None:
        if self.state == STATE_STOPPED:
            return None
        wait_seconds: float | None = super()._process_jobs()
        return wait_seconds


@dataclass(frozen=True)
class EventRecord:
    """A job event as the closed job-history row that records it."""

    status: HistoryStatus
    due: dt.datetime
    run_for: dt.date
    error: str


def describe_event(
    event: JobExecutionEvent | JobSubmissionEvent,
    now: dt.datetime,
    grace_seconds: int,
    timezone: dt.tzinfo,
) -> EventRecord:
    """What a max-instances, missed or error event means, in words an operator can act on."""
    if isinstance(event, JobSubmissionEvent):  # EVENT_JOB_MAX_INSTANCES
        due = event.scheduled_run_times[-1]
        return EventRecord(
            "refused",
            due,
            due.astimezone(timezone).date(),
            "skipped: the previous run of this job is still going (max_instances=1); "
            "it runs again at its next scheduled time",
        )
    due = event.scheduled_run_time
    run_for = due.astimezone(timezone).date()
    if event.code == EVENT_JOB_MISSED:
        late = (now - due).total_seconds()
        return EventRecord(
            "missed",
            due,
            run_for,
            f"missed: due {due.isoformat()}, {late:.0f} s late, beyond the misfire grace of "
            f"{grace_seconds} s (NBAPROPS_MISFIRE_GRACE_SECONDS); run it by hand with "
            f"`nbaprops jobs run {event.job_id} --date {run_for}`",
        )
    # EVENT_JOB_ERROR: run_scheduled itself raised (the state database was down, say)
    return EventRecord(
        "failed",
        due,
        run_for,
        f"the scheduler could not run the job: {event.exception!r}\n{event.traceback}",
    )
