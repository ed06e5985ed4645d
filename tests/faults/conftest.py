"""Fixtures of the fault-injection suite: a lived-in state (a Production model), the checks
that every fault must leave the system healthy, a real daemon, a real SMTP server that can
stall, and the count of scenarios survived printed at the end of the session.

Every test takes these through fixtures (test modules never import each other or this file).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from mlflow.tracking import MlflowClient

from nbaprops.settings import Settings
from tests.support.daemon import DaemonProcess, pid_alive, seed_job_store
from tests.support.environment import settings_environment
from tests.support.on_demand import made_on_demand
from tests.support.outcomes import case_recorder, recorded_outcomes
from tests.support.smtp import SmtpServer
from tests.support.stores import (
    MODEL,
    TrainedStore,
    copy_store,
    lived_in_store,
    tiny_settings,
)

T = TypeVar("T")
WAIT_SECONDS = 60.0
SCENARIO = "fault_scenario"

# --- the count the README quotes -----------------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """Print 'fault scenarios survived: N of M' for the README (see its reliability section)."""
    outcomes = recorded_outcomes(terminalreporter, SCENARIO)
    if not outcomes:
        return
    survived = sorted(name for name, ok in outcomes.items() if ok)
    terminalreporter.write_sep("-", "fault injection")
    for name in sorted(outcomes):
        terminalreporter.write_line(f"  {'survived' if outcomes[name] else 'FAILED  '}  {name}")
    terminalreporter.write_line(f"fault scenarios survived: {len(survived)} of {len(outcomes)}")


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Name the fault scenarios a test proves; the summary counts those whose tests passed."""
    return case_recorder(request, SCENARIO)


# --- settings, environment, a lived-in state -------------------------------------------------


def fault_settings(home: Path, **values: Any) -> Settings:
    """The tiny lived-in settings, with a sender and the local SMTP host for the reports."""
    mail = {"report_sender": "nbaprops@example.com", "smtp_host": "127.0.0.1"}
    return tiny_settings(home, **{**mail, **values})


@pytest.fixture(scope="session")
def lived_in(tmp_path_factory: pytest.TempPathFactory) -> TrainedStore:
    """Train a tiny model on the 4-team feed, register it and put it in production."""
    settings = fault_settings(tmp_path_factory.mktemp("lived-in") / "state")
    return lived_in_store(settings, "the lived-in state of the fault tests")


@pytest.fixture
def settings(tmp_path: Path, lived_in: TrainedStore) -> Settings:
    """This test's state folder: a copy of the lived-in store and state DB."""
    return fault_settings(copy_store(lived_in.home, tmp_path / "state"))


# --- health: what every fault must leave behind ----------------------------------------------


class Health:
    """Read-only checks of a state folder: runs, registry, intents, job history, outbox."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        uri = settings.resolved_tracking_uri
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        self.engine = sa.create_engine(settings.resolved_database_url)

    def close(self) -> None:
        self.engine.dispose()

    def project_experiments(self) -> list[str]:
        experiments = self.client.search_experiments(filter_string="tags.project = 'nba_props'")
        return [e.experiment_id for e in experiments]

    def runs(self, status: str | None = None, extra: str = "") -> list[Any]:
        """Runs of the project's experiments (optionally of one status), oldest first."""
        parts = [f"attributes.status = '{status}'"] if status else []
        parts += [extra] if extra else []
        found = self.client.search_runs(
            self.project_experiments(), " and ".join(parts), max_results=500
        )
        return sorted(found, key=lambda run: run.info.start_time)

    def aliases(self) -> dict[str, str]:
        from governance.registry import aliases_of

        return aliases_of(self.client, MODEL)

    def versions(self) -> list[Any]:
        from governance.registry import list_versions

        return list_versions(self.client, MODEL)

    def production(self) -> list[str]:
        """Versions whose lifecycle is production (the invariants tie it to the alias)."""
        return [v.version for v in self.versions() if v.lifecycle == "production"]

    def pending_intents(self) -> list[Any]:
        from governance.intents import pending_intents

        if not sa.inspect(self.engine).has_table("registry_intents"):
            return []
        return pending_intents(self.engine)

    def history(self, job: str | None = None) -> list[Any]:
        """job_history rows, oldest first."""
        from jobs.daemon.history import JobHistory

        if not sa.inspect(self.engine).has_table("job_history"):
            return []
        return list(reversed(JobHistory(self.engine).recent(job, limit=1000)))

    def audit_actions(self, version: str | None = None) -> list[str]:
        from governance.audit import AuditTrail

        trail = AuditTrail(self.engine)
        entries = trail.since() if version is None else trail.for_version(MODEL, version)
        return [entry.action for entry in entries]

    def invariant_problems(self) -> list[str]:
        from governance.audit import AuditTrail
        from governance.invariants import check_invariants

        return check_invariants(self.client, MODEL, AuditTrail(self.engine))

    def outbox(self) -> dict[str, list[str]]:
        """The outbox's files by state (pending, sending, sent, rejected, other)."""
        folder = self.settings.outbox_dir
        states: dict[str, list[str]] = {
            "pending": [], "sending": [], "sent": [], "rejected": [], "other": [],
        }  # fmt: skip
        if not folder.is_dir():
            return states
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder)
            if path.name == ".flush.lock":
                continue
            if relative.parts[0] in ("sent", "rejected") and path.name.endswith(".eml"):
                states[relative.parts[0]].append(path.name)
            elif len(relative.parts) == 1 and path.name.endswith(".eml"):
                states["pending"].append(path.name)
            elif len(relative.parts) == 1 and path.name.endswith(".eml.sending"):
                states["sending"].append(path.name)
            else:
                states["other"].append(str(relative))
        return states

    def assert_healthy(self, production: str | None) -> None:
        """No run left RUNNING, no half-done registry move, no job row left open, a
        consistent registry with exactly `production` in production (None: none)."""
        assert [r.info.run_id for r in self.runs("RUNNING")] == []
        assert self.pending_intents() == []
        assert [row.id for row in self.history() if row.status == "running"] == []
        assert self.invariant_problems() == []
        assert self.production() == ([] if production is None else [production])
        assert self.aliases().get("production") == production
        assert self.outbox()["other"] == []  # no half-written file


@pytest.fixture
def health(settings: Settings) -> Iterator[Health]:
    checker = Health(settings)
    yield checker
    checker.close()


# --- the CLI, in this process and as a process of its own -------------------------------------

CLI_MAIN = "from jobs.cli.main import main; main()"


class Cli:
    """`nbaprops` with this test's settings: through click's runner or as a subprocess."""

    def __init__(self, settings: Settings, folder: Path) -> None:
        self.settings = settings
        self.folder = folder

    def env(self, **extra: Any) -> dict[str, str]:
        return settings_environment(self.settings, **extra)

    def invoke(self, *args: str, **extra: Any) -> Result:
        """In this process (the job children are real processes all the same)."""
        from jobs.cli.main import cli

        env = {k: v for k, v in self.env(**extra).items() if k.startswith(("NBAPROPS_", "MLFLOW"))}
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-c", CLI_MAIN, *args]

    def popen(self, *args: str, log: str, **extra: Any) -> subprocess.Popen[bytes]:
        """Start `nbaprops ARGS` as a process; its output goes to `<folder>/<log>`."""
        with (self.folder / log).open("ab") as output:
            return subprocess.Popen(
                self.command(*args), env=self.env(**extra), cwd=self.folder,
                stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip


@pytest.fixture
def nbaprops(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)  # no stray .env
    return Cli(settings, tmp_path)


def wait_for(
    probe: Callable[[], T], what: str, timeout: float = WAIT_SECONDS, log: Path | None = None
) -> T:
    """Poll `probe` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    output = log.read_text(errors="replace") if log is not None and log.exists() else ""
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}\n{output}")


@pytest.fixture
def poll() -> Callable[..., Any]:
    return wait_for


def children_of(pid: int) -> list[int]:
    """Direct children of `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


@pytest.fixture
def processes() -> Any:
    """pid helpers for kill -9 scenarios."""

    class Processes:
        alive = staticmethod(pid_alive)
        children = staticmethod(children_of)

    return Processes()


# --- the scheduler daemon ---------------------------------------------------------------------


class Daemon(DaemonProcess):
    """`nbaprops scheduler start` as a process, with the schedule given in its environment."""

    def __init__(self, cli: Cli, jobs: dict[str, str], log: str, **extra: Any) -> None:
        env = cli.env(
            NBAPROPS_JOBS=",".join(jobs),
            NBAPROPS_HEARTBEAT_SECONDS=1,
            NBAPROPS_KILL_GRACE_SECONDS=2,
            **{f"NBAPROPS_SCHEDULE_{job.upper()}": cron for job, cron in jobs.items()},
            **extra,
        )
        command = cli.command("scheduler", "start")
        super().__init__(command, env, cli.folder, cli.folder / log, WAIT_SECONDS)
        self.cli = cli
        self.jobs = jobs

    def seed(self, next_runs: dict[str, dt.datetime]) -> None:
        """Write the jobs into the store as a stopped daemon leaves them, due at `next_runs`."""
        from jobs.daemon.schedule_settings import SchedulerSettings

        scheduler = SchedulerSettings(_env_file=None, jobs=",".join(self.jobs),  # type: ignore[call-arg]
                                      schedules=self.jobs)  # fmt: skip
        seed_job_store(self.cli.settings, scheduler, next_runs)


@pytest.fixture
def daemons(nbaprops: Cli) -> Iterator[Callable[..., Daemon]]:
    """Make daemons; any still running at the end of the test is killed."""

    def make(n: int, jobs: dict[str, str], **extra: Any) -> Daemon:
        return Daemon(nbaprops, jobs, f"daemon-{n}.log", **extra)

    with made_on_demand(make, Daemon.kill) as maker:
        yield maker


# --- a real SMTP server that can be down, stall, or require a login ----------------------------


@pytest.fixture
def smtp(settings: Settings) -> Iterator[SmtpServer]:
    """The server the settings point at, not started (the test decides when it is up)."""
    server = SmtpServer(settings.smtp_port)
    yield server
    server.stop()


def eml_message_id(path: Path) -> str:
    """The Message-ID of an .eml file."""
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return str(parsed["Message-ID"]).strip()


@pytest.fixture
def message_id() -> Callable[[Path], str]:
    return eml_message_id


# --- a full disk --------------------------------------------------------------------------------


@contextlib.contextmanager
def tiny_filesystem(folder: Path, size_kb: int) -> Iterator[bool]:
    """Mount a tmpfs of `size_kb` at `folder` when allowed (root); yields whether it did."""
    folder.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None or os.geteuid() != 0:
        yield False
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture
def tmpfs() -> Callable[[Path, int], contextlib.AbstractContextManager[bool]]:
    return tiny_filesystem


# --- a real tracking server over the test's store, that can be killed ---------------------------


@dataclass(frozen=True)
class Remote:
    """The test's store served by a real `mlflow server`, and the CLI pointed at it."""

    server: Any  # tests.support.tracking_server.TrackingServer
    settings: Settings
    cli: Cli


@pytest.fixture
def remote(settings: Settings, nbaprops: Cli, monkeypatch: pytest.MonkeyPatch) -> Iterator[Remote]:
    """`mlflow server` over this test's SQLite store on 127.0.0.1 (killed at the end); the
    clients here and in the job processes fail a refused request at once (no retries)."""
    from tests.support.tracking_server import FAST_FAILING_CLIENT, TrackingServer

    for name, value in FAST_FAILING_CLIENT.items():
        monkeypatch.setenv(name, value)
    server = TrackingServer(settings.resolved_tracking_uri, nbaprops.folder / "tracking-server")
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    served = settings.model_copy(update={"tracking_uri": server.url})
    try:
        yield Remote(server, served, Cli(served, nbaprops.folder))
    finally:
        server.kill()
