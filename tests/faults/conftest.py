"""Fixtures of the fault-injection suite: a lived-in state (a Production model), the checks
that every fault must leave the system healthy, a real daemon, a real SMTP server that can
stall, and the count of scenarios survived printed at the end of the session.

Every test takes these through fixtures (test modules never import each other or this file).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email
import email.policy
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from apscheduler.schedulers.base import BaseScheduler
from click.testing import CliRunner, Result
from mlflow.tracking import MlflowClient

from nbaprops.settings import Settings
from tests.support.ports import free_port

T = TypeVar("T")
WAIT_SECONDS = 60.0
SEASONS = "2023-24,2024-25"
MODEL = "NBAPropsModel"
T0 = dt.datetime(2025, 1, 13, 8, 0, tzinfo=dt.UTC)
SCENARIO = "fault_scenario"

# --- the count the README quotes -----------------------------------------------------------


def _scenario_outcomes(reporter: Any, key: str) -> dict[str, bool]:
    """Each recorded scenario (user property `key`) -> whether every test proving it passed."""
    outcomes: dict[str, bool] = {}
    for reports in reporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call" and getattr(report, "passed", True):
                continue
            for name, value in getattr(report, "user_properties", []):
                if name == key:
                    outcomes[value] = outcomes.get(value, True) and bool(report.passed)
    return outcomes


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """Print 'fault scenarios survived: N of M' for the README (see its reliability section)."""
    outcomes = _scenario_outcomes(terminalreporter, SCENARIO)
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

    def record(name: str) -> None:
        request.node.user_properties.append((SCENARIO, name))

    return record


# --- settings, environment, a lived-in state -------------------------------------------------


def fault_settings(home: Path, **values: Any) -> Settings:
    """A tiny feed (4 teams, 2 seasons), a quick XGBoost retrain, an email recipient."""
    base: dict[str, Any] = {
        "home": home,
        "teams": 4,
        "seasons": SEASONS,
        "seed": 7,
        "workers": 2,
        "retrain_model": "xgboost",
        "retrain_params": "n_estimators=30",
        "report_recipients": "ops@example.com",
        "report_sender": "nbaprops@example.com",
        "smtp_host": "127.0.0.1",
        "smtp_port": free_port(),
    }
    base.update(values)
    return Settings(_env_file=None, **base)  # type: ignore[call-arg]


def environment(settings: Settings, **extra: Any) -> dict[str, str]:
    """The environment a subprocess needs to build exactly `settings` (every field spelled out)."""
    from jobs.daemon.child import child_environment
    from jobs.daemon.recovery import RUN_CONTEXT_VARIABLE

    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("NBAPROPS_") and key != "MLFLOW_TRACKING_URI"
    }
    env = child_environment(settings, base, {})
    env.pop(RUN_CONTEXT_VARIABLE, None)
    env.update(MLFLOW_LOGGING_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    env.update({key: str(value) for key, value in extra.items()})
    return env


@dataclass(frozen=True)
class Template:
    """A state folder made once per session: store, state DB, version 1 in production."""

    home: Path
    run_id: str


@pytest.fixture(scope="session")
def lived_in(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """Train a tiny model on the 4-team feed, register it and put it in production."""
    from governance.policy import parse_policy
    from governance.promotion import promote
    from governance.registry import register_run
    from jobs.daemon.history import JobHistory
    from jobs.loop.context import load_feed
    from nbaprops.statedb import state_engine
    from nbaprops.tracking.setup import init_tracking, phase_by_key
    from nbaprops.training.pipeline import TrainSpec, train_and_log
    from nbaprops.training.prepare import prepare

    home = tmp_path_factory.mktemp("lived-in") / "state"
    settings = fault_settings(home)
    client = init_tracking(settings)
    experiment = client.get_experiment_by_name(phase_by_key("production").experiment)
    assert experiment is not None
    data = prepare(load_feed(settings).known_before(dt.date(2025, 1, 6)), "PTS", "full")
    spec = TrainSpec(model_type="xgboost", params={"n_estimators": 30}, seed=7, n_jobs=2,
                     phase="production")  # fmt: skip
    run = train_and_log(data, spec, experiment.experiment_id, dt.date(2025, 1, 6), client=client)
    engine = state_engine(settings)
    register_run(client, engine, run.run_id, T0, "setup")
    policy = parse_policy(
        'version = 1\nsample_size_metric = "n_val_props"\n[[criteria]]\nmetric = "val_mae"\n'
        'op = "<"\nthreshold = 100\n'
    )
    promote(client, engine, MODEL, "1", "staging", policy, T0, "setup")
    promote(client, engine, MODEL, "1", "production", policy, T0, "setup", force=True,
            reason="the lived-in state of the fault tests")  # fmt: skip
    JobHistory(engine).ensure_schema()
    engine.dispose()
    return Template(home, run.run_id)


@pytest.fixture
def settings(tmp_path: Path, lived_in: Template) -> Settings:
    """This test's state folder: a copy of the lived-in store and state DB."""
    home = tmp_path / "state"
    home.mkdir()
    for name in ("mlflow.db", "state.db"):
        shutil.copyfile(lived_in.home / name, home / name)
    return fault_settings(home)


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
        return environment(self.settings, **extra)

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


class StoreEditor(BaseScheduler):
    """A scheduler without a main loop: edits a job store, never runs a job."""

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def wakeup(self) -> None:
        """Nothing to wake."""


class Daemon:
    """`nbaprops scheduler start` as a process, with the schedule given in its environment."""

    def __init__(self, cli: Cli, jobs: dict[str, str], log: str, **extra: Any) -> None:
        self.cli = cli
        self.jobs = jobs
        self.extra = {
            "NBAPROPS_JOBS": ",".join(jobs),
            "NBAPROPS_HEARTBEAT_SECONDS": 1,
            "NBAPROPS_KILL_GRACE_SECONDS": 2,
            **{f"NBAPROPS_SCHEDULE_{job.upper()}": cron for job, cron in jobs.items()},
            **extra,
        }
        self.log = cli.folder / log
        self.process: subprocess.Popen[bytes] | None = None

    def seed(self, next_runs: dict[str, dt.datetime]) -> None:
        """Write the jobs into the store as a stopped daemon leaves them, due at `next_runs`."""
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

        from jobs.daemon.catalogue import planned_jobs
        from jobs.daemon.reconcile import JOBSTORE, JOBSTORE_TABLE, reconcile
        from jobs.daemon.schedule_settings import SchedulerSettings

        scheduler = SchedulerSettings(_env_file=None, jobs=",".join(self.jobs),  # type: ignore[call-arg]
                                      schedules=self.jobs)  # fmt: skip
        engine = sa.create_engine(self.cli.settings.resolved_database_url)
        editor = StoreEditor(
            timezone="UTC",
            jobstores={JOBSTORE: SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)},
        )
        editor.start(paused=True)
        try:
            reconcile(editor, planned_jobs(scheduler), scheduler.misfire_grace_seconds)
            for job, when in next_runs.items():
                editor.modify_job(job, jobstore=JOBSTORE, next_run_time=when)
        finally:
            editor.shutdown(wait=False)
            engine.dispose()

    def start(self) -> Daemon:
        self.process = self.cli.popen("scheduler", "start", log=self.log.name, **self.extra)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def wait_for(self, probe: Callable[[], T], what: str, timeout: float = WAIT_SECONDS) -> T:
        """Poll `probe` while the daemon lives; fail with its output otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            if not self.alive():
                pytest.fail(f"daemon exited while waiting for {what}:\n{self.output()}")
            time.sleep(0.1)
        pytest.fail(f"timed out after {timeout:g} s waiting for {what}:\n{self.output()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = WAIT_SECONDS) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"daemon did not exit within {timeout:g} s of {sig}:\n{self.output()}")


@pytest.fixture
def daemons(nbaprops: Cli) -> Iterator[Callable[..., Daemon]]:
    """Make daemons; any still running at the end of the test is killed."""
    made: list[Daemon] = []

    def make(jobs: dict[str, str], **extra: Any) -> Daemon:
        daemon = Daemon(nbaprops, jobs, f"daemon-{len(made)}.log", **extra)
        made.append(daemon)
        return daemon

    yield make
    for daemon in made:
        if daemon.alive():
            assert daemon.process is not None
            daemon.process.kill()
            daemon.process.wait()


# --- a real SMTP server that can be down, stall, or require a login ----------------------------


@dataclass
class _Handler:
    envelopes: list[Envelope] = field(default_factory=list)
    stall: threading.Event = field(default_factory=threading.Event)
    stalled: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.stall.is_set():
            self.stalled.set()
            while not self.released.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 stalled; try again later"
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 at a fixed port: start, stop, stall on DATA; keeps what it got."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.handler = _Handler()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self.handler.released.set()
            self._controller.stop()
            self._controller = None

    def stall_on_data(self) -> None:
        """Answer DATA only once released (and then with a 451: nothing accepted)."""
        self.handler.released.clear()
        self.handler.stall.set()

    def release(self) -> None:
        """Stop stalling: the stalled session gets its 451, new ones are accepted."""
        self.handler.stall.clear()
        self.handler.released.set()

    @property
    def stalled(self) -> threading.Event:
        return self.handler.stalled

    def message_ids(self) -> list[str]:
        """Message-IDs of the accepted messages, in order of arrival."""
        ids = []
        for envelope in self.handler.envelopes:
            assert isinstance(envelope.content, bytes)
            parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
            ids.append(str(parsed["Message-ID"]).strip())
        return ids

    def weeks(self) -> list[str]:
        weeks = []
        for envelope in self.handler.envelopes:
            assert isinstance(envelope.content, bytes)
            parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
            weeks.append(str(parsed["X-Nbaprops-Report-Week"]))
        return weeks


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
