"""Fixtures for the scheduler tests: a real daemon subprocess, its state DB, a seeded job store."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from jobs.daemon.history import HistoryRow, JobHistory
from jobs.daemon.schedule_settings import SchedulerSettings, schedule_variable, timeout_variable
from nbaprops.settings import Settings
from tests.support.daemon import DaemonProcess, StoreEditor, pid_alive, seed_job_store, store_editor
from tests.support.on_demand import made_on_demand
from tests.support.stores import copy_store

T = TypeVar("T")
WAIT_SECONDS = 20.0
DAEMON_COMMAND = (sys.executable, "-m", "jobs.cli.scheduler", "scheduler", "start")


def scheduler_settings(**values: Any) -> SchedulerSettings:
    """SchedulerSettings from explicit values only (no environment, no .env)."""
    return SchedulerSettings(_env_file=None, **values)  # type: ignore[call-arg]


def environment_for(
    settings: Settings, scheduler: SchedulerSettings, **extra: Any
) -> dict[str, str]:
    """The environment a daemon or CLI subprocess needs to see exactly these settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("NBAPROPS_") and key not in ("MLFLOW_TRACKING_URI",)
    }
    if settings.database_url:
        env["NBAPROPS_DATABASE_URL"] = settings.database_url
    env.update(
        NBAPROPS_HOME=str(settings.home),
        NBAPROPS_TIMEZONE=scheduler.timezone,
        NBAPROPS_MISFIRE_GRACE_SECONDS=str(scheduler.misfire_grace_seconds),
        NBAPROPS_STOP_DEADLINE_SECONDS=str(scheduler.stop_deadline_seconds),
        NBAPROPS_KILL_GRACE_SECONDS=str(scheduler.kill_grace_seconds),
        NBAPROPS_HEARTBEAT_SECONDS=str(scheduler.heartbeat_seconds),
        NBAPROPS_HEARTBEAT_STALE_SECONDS=str(scheduler.heartbeat_stale_seconds),
        MLFLOW_LOGGING_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if scheduler.jobs is not None:
        env["NBAPROPS_JOBS"] = scheduler.jobs
    for job, cron in scheduler.schedules.items():
        env[schedule_variable(job)] = cron
    for job, seconds in scheduler.timeouts.items():
        env[timeout_variable(job)] = str(seconds)
    env.update({key: str(value) for key, value in extra.items()})
    return env


def run_cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m jobs.cli.scheduler ARGS` as a separate process."""
    command = [sys.executable, "-m", "jobs.cli.scheduler", *args]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.fixture
def spawn_daemon(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], DaemonProcess]]:
    """Start daemons; any still running at the end of the test is killed."""

    def spawn(n: int, env: dict[str, str]) -> DaemonProcess:
        log = tmp_path / f"daemon-{n}.log"
        return DaemonProcess(DAEMON_COMMAND, env, tmp_path, log, WAIT_SECONDS).start()

    with made_on_demand(spawn, DaemonProcess.kill) as spawner:
        yield spawner


class StateView:
    """Read-only views of a state DB for assertions."""

    def __init__(self, settings: Settings) -> None:
        settings.home.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(settings.resolved_database_url)
        self.history = JobHistory(self.engine)

    def rows(self, job: str | None = None) -> list[HistoryRow]:
        """History rows, oldest first (empty before the table exists)."""
        if not sa.inspect(self.engine).has_table("job_history"):
            return []
        return list(reversed(self.history.recent(job, limit=1000)))

    def statuses(self, job: str) -> list[str]:
        return [row.status for row in self.rows(job)]


@pytest.fixture
def state(settings: Settings) -> Iterator[StateView]:
    view = StateView(settings)
    yield view
    view.engine.dispose()


def daily_cron_fired(minutes_ago: int, now: dt.datetime) -> tuple[str, dt.datetime]:
    """A daily UTC cron whose latest firing was `minutes_ago` minutes before `now`."""
    fired = (now - dt.timedelta(minutes=minutes_ago)).replace(second=0, microsecond=0)
    return f"{fired.minute} {fired.hour} * * *", fired


class Kit:
    """The helpers above, bound to one test's settings and folder (test modules cannot import
    from conftest under --import-mode=importlib, so they get this object as a fixture)."""

    def __init__(self, settings: Settings, folder: Path) -> None:
        self.settings = settings
        self.folder = folder

    def on_database(self, url: str) -> Kit:
        """The same helpers with the state database at `url` (PostgreSQL, say)."""
        return Kit(self.settings.model_copy(update={"database_url": url}), self.folder)

    @staticmethod
    def scheduler_settings(**values: Any) -> SchedulerSettings:
        return scheduler_settings(**values)

    def env(self, scheduler: SchedulerSettings, **extra: Any) -> dict[str, str]:
        return environment_for(self.settings, scheduler, **extra)

    def cli(self, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        """The CLI in a process of its own."""
        return run_cli(env, *args, cwd=self.folder)

    @staticmethod
    def invoke(env: dict[str, str], *args: str) -> Result:
        """The CLI in this process, through click's runner, with `env` as its environment."""
        from jobs.cli.scheduler import standalone

        return CliRunner().invoke(standalone, list(args), env=env, catch_exceptions=False)

    def seed(self, scheduler: SchedulerSettings, next_runs: dict[str, dt.datetime]) -> None:
        seed_job_store(self.settings, scheduler, next_runs)

    def caught_up(self, job: str, **values: Any) -> tuple[SchedulerSettings, dt.datetime]:
        """Settings declaring only `job`, on a daily cron that fired five minutes ago, and a
        job store seeded with that firing, so the daemon runs it as soon as it starts."""
        cron, fired = daily_cron_fired(minutes_ago=5, now=dt.datetime.now(dt.UTC))
        scheduler = scheduler_settings(jobs=job, schedules={job: cron}, **values)
        self.seed(scheduler, {job: fired})
        return scheduler, fired

    @staticmethod
    def store_editor(engine: sa.Engine, timezone: str = "UTC") -> StoreEditor:
        return store_editor(engine, timezone)

    @staticmethod
    def pid_alive(pid: int) -> bool:
        return pid_alive(pid)

    def markers(self) -> list[str]:
        """Lines the fault jobs wrote (one per run step)."""
        path = self.settings.home / "fault-markers.log"
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []

    def sleep_started(self) -> bool:
        """Whether the fault_sleep job has begun its sleep."""
        return any("sleep-started" in marker for marker in self.markers())


@pytest.fixture
def kit(settings: Settings, tmp_path: Path) -> Kit:
    return Kit(settings, tmp_path)


@pytest.fixture(scope="session")
def tracking_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised MLflow SQLite store, made once (creating one costs about 5 s)."""
    from nbaprops.tracking.setup import init_tracking

    home = tmp_path_factory.mktemp("tracking-template")
    init_tracking(Settings(home=home, _env_file=None))  # type: ignore[call-arg]
    return home / "mlflow.db"


@pytest.fixture
def tracking(settings: Settings, tracking_template: Path) -> Any:
    """This test's own copy of the initialised store, opened with init_tracking."""
    from nbaprops.tracking.setup import init_tracking

    copy_store(tracking_template.parent, settings.home, ["mlflow.db"])
    return init_tracking(settings)
