"""`nbaprops scheduler start | jobs list | jobs run | status`: the daemon and manual triggers.

Exit codes: 0 done; 1 the job ran and failed (or timed out); 2 bad input (unknown job, bad
date, invalid cron or setting); 3 busy (the job already runs elsewhere, or a daemon already
runs on this state database); 4 the scheduler's state database cannot be reached.
`python -m jobs.cli.scheduler ...` runs these commands alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import zoneinfo
from types import FrameType
from typing import Any

import click
from pydantic import ValidationError

from jobs.cli.console import fail, print_json, print_table
from jobs.daemon.schedule_settings import (
    ScheduleError,
    SchedulerSettings,
    schedule_variable,
    timeout_variable,
)
from jobs.daemon.types import utc_now
from nbaprops.settings import Settings

EXIT_JOB_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_BUSY = 3
EXIT_UNAVAILABLE = 4


def _settings(ctx: click.Context) -> Settings:
    """The Settings built by the top-level group (or fresh ones when run on its own)."""
    return ctx.obj if isinstance(ctx.obj, Settings) else Settings()


def _scheduler_settings() -> SchedulerSettings:
    """SchedulerSettings from the environment; a bad value exits 2 naming the setting."""
    try:
        return SchedulerSettings()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            head, *rest = (str(part) for part in err["loc"])
            if head == "timeouts" and rest:
                variable = timeout_variable(rest[0])
            elif head == "schedules" and rest:
                variable = schedule_variable(rest[0])
            else:
                variable = f"NBAPROPS_{head.upper()}"
            problems.append(f"{variable}: {str(err['msg']).removeprefix('Value error, ')}")
        fail(f"invalid scheduler setting: {'; '.join(problems)}", EXIT_BAD_INPUT)
        raise AssertionError("unreachable") from exc


def _when(value: dt.datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S %Z")


@click.group("scheduler")
def scheduler_group() -> None:
    """The scheduler daemon."""


@scheduler_group.command("start")
@click.pass_context
def start_command(ctx: click.Context) -> None:
    """Run the scheduler daemon in the foreground until SIGTERM or Ctrl-C."""
    from jobs.daemon.scheduler import (
        Daemon,
        DaemonAlreadyRunningError,
        StateDatabaseUnavailableError,
    )

    settings = _settings(ctx)
    scheduler_settings = _scheduler_settings()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # jobs.* logs each run
    try:
        daemon = Daemon(settings, scheduler_settings)
        code = daemon.run()
    except ScheduleError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    except DaemonAlreadyRunningError as exc:
        fail(str(exc), EXIT_BUSY)
    except StateDatabaseUnavailableError as exc:
        fail(str(exc), EXIT_UNAVAILABLE)
    else:
        ctx.exit(code)


@click.group("jobs")
def jobs_group() -> None:
    """List the scheduled jobs or run one by hand."""


@jobs_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """Each job's schedule, next run and last result."""
    from jobs.daemon.status import job_lines
    from nbaprops.statedb import state_engine

    settings = _settings(ctx)
    scheduler_settings = _scheduler_settings()
    try:
        lines = job_lines(scheduler_settings, state_engine(settings), utc_now())
    except ScheduleError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
        return
    if as_json:
        print_json([line.to_dict() for line in lines])
        return
    rows = [
        {
            "job": line.name,
            "schedule": line.schedule or "(not scheduled)",
            "kind": "heavy" if line.heavy else "light",
            "next_run": _when(line.next_run),
            "last": "" if line.last is None else line.last.status,
            "last_run_for": "" if line.last is None else line.last.run_for.isoformat(),
            "last_ended": "" if line.last is None else _when(line.last.ended_at),
        }
        for line in lines
    ]
    print_table(rows, ["job", "schedule", "kind", "next_run", "last", "last_run_for", "last_ended"])
    click.echo(f"(times in UTC; schedules in {scheduler_settings.timezone})", err=True)


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@jobs_group.command("run")
@click.argument("name")
@click.option("--date", "run_for", default=None, help="Day to run for (YYYY-MM-DD); default today.")
@click.option("--wait", is_flag=True, help="If the job is running elsewhere, wait for it.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@click.pass_context
def run_command(
    ctx: click.Context, name: str, run_for: str | None, wait: bool, as_json: bool
) -> None:
    """Run job NAME now, under the same lock the daemon takes."""
    from jobs.daemon.catalogue import UnknownJobError, lookup
    from jobs.daemon.runner import JobBusyError, JobRunner
    from nbaprops.statedb import state_engine

    settings = _settings(ctx)
    scheduler_settings = _scheduler_settings()
    try:
        spec = lookup(name)
    except UnknownJobError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
        return
    now = utc_now()
    if run_for is None:
        day = now.astimezone(zoneinfo.ZoneInfo(scheduler_settings.timezone)).date()
    else:
        try:
            day = dt.date.fromisoformat(run_for)
        except ValueError:
            fail(f"--date {run_for!r} is not a date; use YYYY-MM-DD, e.g. 2025-01-13")
            return
    engine = state_engine(settings)
    runner = JobRunner(settings, scheduler_settings, engine)
    runner.history.ensure_schema()
    previous = signal.signal(signal.SIGTERM, _raise_on_sigterm)
    try:
        click.echo(f"running {name} for {day}…", err=True)
        outcome = runner.run(spec, day, trigger="manual", wait=wait)
    except JobBusyError as exc:
        fail(str(exc), EXIT_BUSY)
        return
    finally:
        signal.signal(signal.SIGTERM, previous)
    if as_json:
        print_json(outcome.to_dict())
    else:
        _print_outcome(outcome.to_dict())
    if not outcome.ok:
        ctx.exit(EXIT_JOB_FAILED)


def _print_outcome(outcome: dict[str, Any]) -> None:
    click.echo(
        f"{outcome['job']} for {outcome['run_for']}: {outcome['status']} "
        f"in {outcome['duration_seconds']:.1f}s (history #{outcome['history_id']})"
    )
    for key, value in sorted(outcome["summary"].items()):
        click.echo(f"  {key}: {value}")
    if outcome["error"]:
        click.echo(outcome["error"].rstrip(), err=True)


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--check", is_flag=True, help="Exit 0 only if the daemon's heartbeat is fresh (health check)."
)
@click.pass_context
def status_command(ctx: click.Context, as_json: bool, check: bool) -> None:
    """Daemon liveness, next runs, last results (and what other layers add)."""
    from jobs.daemon.status import collect_status, daemon_status, read_heartbeat
    from nbaprops.statedb import state_engine

    settings = _settings(ctx)
    scheduler_settings = _scheduler_settings()
    engine = state_engine(settings)
    now = utc_now()
    if check:
        daemon = daemon_status(
            read_heartbeat(engine), now, scheduler_settings.heartbeat_stale_seconds
        )
        if as_json:
            print_json(daemon)
        else:
            click.echo(f"scheduler: {daemon['state']}")
        ctx.exit(0 if daemon["alive"] else 1)
    try:
        report = collect_status(settings, scheduler_settings, engine, now)
    except ScheduleError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
        return
    if as_json:
        print_json(report)
        return
    _print_status(report)


def _print_status(report: dict[str, Any]) -> None:
    daemon = report["daemon"]
    line = f"scheduler: {daemon['state']}"
    if "pid" in daemon:
        line += (
            f" (pid {daemon['pid']} on {daemon['host']}, heartbeat {daemon['age_seconds']:.0f}s"
            f" ago, up since {daemon['started_at']})"
        )
    click.echo(line)
    rows = [
        {
            "job": job["name"],
            "schedule": job["schedule"] or "(not scheduled)",
            "next_run": job["next_run"] or "",
            "last": (job["last"] or {}).get("status", ""),
            "last_run_for": (job["last"] or {}).get("run_for", ""),
        }
        for job in report["jobs"]
    ]
    print_table(rows, ["job", "schedule", "next_run", "last", "last_run_for"])
    for section, values in report.items():
        if section in ("now", "daemon", "jobs"):
            continue
        click.echo(f"{section}:")
        for key, value in values.items():
            click.echo(f"  {key}: {value}")


@click.group()
@click.pass_context
def standalone(ctx: click.Context) -> None:
    """The scheduler's commands on their own (`python -m jobs.cli.scheduler`)."""
    ctx.obj = Settings()


SCHEDULER_COMMANDS = (scheduler_group, jobs_group, status_command)
for _command in SCHEDULER_COMMANDS:
    standalone.add_command(_command)


if __name__ == "__main__":
    standalone(prog_name="nbaprops")
