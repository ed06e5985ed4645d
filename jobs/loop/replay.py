"""Season replay: drive the scheduled jobs day by day on a simulated clock.

The same job functions the daemon runs, under the same locks, each run recorded in the job
history; they run in this process (not a child per job) so the feed is generated once and the
whole lifecycle of a few weeks is visible in minutes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from jobs.daemon.catalogue import lookup, steps_on
from jobs.daemon.runner import JobRunner
from jobs.daemon.schedule_settings import SchedulerSettings
from nbaprops.settings import Settings
from nbaprops.statedb import state_engine


@dataclass(frozen=True)
class DayResult:
    """What every job did on one simulated day."""

    day: dt.date
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """One JSON line of the replay."""
        return {"day": str(self.day), "jobs": self.jobs}


def jobs_for(day: dt.date, start: dt.date, retrain_every: int) -> list[str]:
    """The jobs of a simulated day: the nightly pipeline's steps that its default schedule runs
    that day, in the pipeline's order; the candidate steps only every `retrain_every` days from
    `start`, and no external step (the generated feed stands in for the fetch)."""
    retrain_day = (day - start).days % retrain_every == 0
    return [
        step.job
        for step in steps_on(day)
        if not step.external and (retrain_day or not step.candidate)
    ]


def replay(
    settings: Settings,
    start: dt.date,
    days: int,
    retrain_every: int = 7,
    on_job: Callable[[dt.date, str], None] | None = None,
) -> Iterator[DayResult]:
    """Run the loop for `days` days from `start`, yielding each day's results as it ends."""
    runner = JobRunner(settings, SchedulerSettings(), state_engine(settings))
    runner.history.ensure_schema()
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        result = DayResult(day)
        for name in jobs_for(day, start, retrain_every):
            if on_job is not None:
                on_job(day, name)
            spec = replace(lookup(name), heavy=False)  # in-process: the feed stays cached
            outcome = runner.run(spec, day, trigger="simulate", wait=True)
            result.jobs[name] = {
                "status": outcome.status,
                "summary": outcome.summary,
                **({"error": outcome.error.splitlines()[-1]} if outcome.error else {}),
            }
        yield result
