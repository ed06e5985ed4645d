"""Fixtures for the scheduler tests: a real daemon subprocess, its state DB, a seeded job store."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.base import BaseScheduler
from click.testing import CliRunner, Result

from jobs.daemon.history import HistoryRow, JobHistory
from jobs.daemon.schedule_settings import SchedulerSettings, schedule_variable, timeout_variable
from nbaprops.settings import Settings

T = TypeVar("T")
WAIT_SECONDS = 20.0


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


class DaemonProcess:
    """`scheduler start` in a subprocess, with its output in a file."""

    def __init__(self, env: dict[str, str], cwd: Path, log_path: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> DaemonProcess:
        command = [sys.executable, "-m", "jobs.cli.scheduler", "scheduler", "start"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_for(self, probe: Callable[[], T], what: str, timeout: float = WAIT_SECONDS) -> T:
        """Poll `probe` until it returns something truthy; fail with the daemon's output."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            if not self.alive():
                pytest.fail(f"daemon exited while waiting for {what}:\n{self.output}")
            time.sleep(0.1)
        pytest.fail(f"timed out after {timeout:g} s waiting for {what}:\n{self.output}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = WAIT_SECONDS) -> int:
        """Send `sig` and return the exit code."""
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"daemon did not exit within {timeout:g} s of {sig}:\n{self.output}")


@pytest.fixture
def spawn_daemon(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], DaemonProcess]]:
    """Start daemons; any still running at the end of the test is killed."""
    started: list[DaemonProcess] = []

    def spawn(env: dict[str, str]) -> DaemonProcess:
        daemon = DaemonProcess(env, tmp_path, tmp_path / f"daemon-{len(started)}.log").start()
        started.append(daemon)
        return daemon

    yield spawn
    for daemon in started:
        if daemon.alive():
            assert daemon.process is not None
            daemon.process.kill()
            daemon.process.wait()


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


def daily_cron_fired(minutes_ago: int, now: dt.datetime) -> tuple[str, dt.datetime]:
    """A daily UTC cron whose latest firing was `minutes_ago` minutes before `now`."""
    fired = (now - dt.timedelta(minutes=minutes_ago)).replace(second=0, microsecond=0)
    return f"{fired.minute} {fired.hour} * * *", fired


def pid_alive(pid: int) -> bool:
    """True while process `pid` exists (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split()[2] != "Z"
    except OSError:
        return True


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

    @staticmethod
    def store_editor(engine: sa.Engine, timezone: str = "UTC") -> StoreEditor:
        return store_editor(engine, timezone)

    @staticmethod
    def daily_cron_fired(minutes_ago: int, now: dt.datetime) -> tuple[str, dt.datetime]:
        return daily_cron_fired(minutes_ago, now)

    @staticmethod
    def pid_alive(pid: int) -> bool:
        return pid_alive(pid)

    def markers(self) -> list[str]:
        """Lines the fault jobs wrote (one per run step)."""
        path = self.settings.home / "fault-markers.log"
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


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

    settings.home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tracking_template, settings.home / "mlflow.db")
    return init_tracking(settings)


def _pg_command(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL 15 server on a Unix socket; yields its folder (the host)."""
    binaries = Path("/usr/lib/postgresql/15/bin")
    initdb = shutil.which("initdb") or str(binaries / "initdb")
    pg_ctl = shutil.which("pg_ctl") or str(binaries / "pg_ctl")
    if not (Path(initdb).exists() and Path(pg_ctl).exists()):
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        pytest.skip("running as root without runuser: cannot start PostgreSQL")
    folder = tempfile.mkdtemp(prefix="nbaprops-pg-")
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres")
    data = os.path.join(folder, "data")

    def pg(*args: str) -> None:
        subprocess.run(_pg_command(list(args)), check=True, capture_output=True)

    pg(initdb, "-D", data, "-A", "trust", "-U", "postgres", "-N")
    pg(pg_ctl, "-D", data, "-o", f"-k {folder} -h '' -F", "-l", os.path.join(folder, "log"),
       "-w", "start")  # fmt: skip
    try:
        yield folder
    finally:
        pg(pg_ctl, "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


_database_numbers = itertools.count()


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """The URL of a fresh, empty database on the throwaway server."""
    name = f"nbaprops_{next(_database_numbers)}"
    admin = sa.create_engine(
        f"postgresql+psycopg://postgres@/postgres?host={postgres_server}",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return f"postgresql+psycopg://postgres@/{name}?host={postgres_server}"
