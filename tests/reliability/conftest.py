"""Fixtures of the reliability suite: a lived-in state to compare before and after a bad
input, a snapshot of everything MLflow and the state database hold, a real SMTP server that
requires a login, and the count of bad inputs rejected printed at the end of the session.

Every test takes these through fixtures (test modules never import each other or this file).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient

from nbaprops.settings import Settings
from tests.support.ports import free_port

MODEL = "NBAPropsModel"
T0 = dt.datetime(2025, 1, 13, 8, 0, tzinfo=dt.UTC)
BAD_INPUT = "bad_input"
LOCK_SUFFIXES = (".lock",)

# --- the count the README quotes -----------------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """Print 'bad inputs rejected: N of M' for the README (see its reliability section)."""
    outcomes: dict[str, bool] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call" and getattr(report, "passed", True):
                continue
            for name, value in getattr(report, "user_properties", []):
                if name == BAD_INPUT:
                    outcomes[value] = outcomes.get(value, True) and bool(report.passed)
    if not outcomes:
        return
    rejected = sum(outcomes.values())
    kinds: dict[str, int] = {}
    for value in outcomes:
        kinds[value.split(":", 1)[0]] = kinds.get(value.split(":", 1)[0], 0) + 1
    terminalreporter.write_sep("-", "bad input")
    for kind, count in sorted(kinds.items()):
        terminalreporter.write_line(f"  {kind}: {count} cases")
    for value, ok in sorted(outcomes.items()):
        if not ok:
            terminalreporter.write_line(f"  NOT REJECTED CLEANLY: {value}")
    terminalreporter.write_line(f"bad inputs rejected: {rejected} of {len(outcomes)}")


@pytest.fixture
def bad_input(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Name the bad input a test tries ('kind:case'); the summary counts those rejected."""

    def record(name: str) -> None:
        request.node.user_properties.append((BAD_INPUT, name))

    return record


# --- a lived-in state ------------------------------------------------------------------------


def small_settings(home: Path, **values: Any) -> Settings:
    """A tiny feed (4 teams, 2 seasons) and a quick XGBoost retrain."""
    base: dict[str, Any] = {
        "home": home,
        "teams": 4,
        "seasons": "2023-24,2024-25",
        "seed": 7,
        "workers": 2,
        "retrain_model": "xgboost",
        "retrain_params": "n_estimators=30",
        "report_recipients": "ops@example.com",
        "smtp_port": free_port(),
    }
    base.update(values)
    return Settings(_env_file=None, **base)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def lived_in(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state folder with a trained run, registered as version 1 and put in production."""
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
    settings = small_settings(home)
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
            reason="the lived-in state of the reliability tests")  # fmt: skip
    JobHistory(engine).ensure_schema()
    engine.dispose()
    return home


@pytest.fixture
def lived_in_settings(tmp_path: Path, lived_in: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private copy of the lived-in state; the working folder is empty (no stray .env)."""
    home = tmp_path / "state"
    shutil.copytree(lived_in, home, ignore=shutil.ignore_patterns("*.lock"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return small_settings(home)


def environment(settings: Settings, **extra: Any) -> dict[str, str]:
    """The environment that makes `Settings()` equal `settings` (every field spelled out)."""
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


@pytest.fixture
def settings_environment() -> Callable[..., dict[str, str]]:
    return environment


# --- a snapshot of everything a bad input must leave untouched ---------------------------------


def _run_record(run: Any) -> tuple[Any, ...]:
    info, data = run.info, run.data
    return (
        info.run_id,
        info.status,
        info.end_time,
        info.lifecycle_stage,
        sorted(data.params.items()),
        sorted(data.metrics.items()),
        sorted(data.tags.items()),
    )


def snapshot(settings: Settings) -> dict[str, Any]:
    """Experiments, runs (status, params, metrics, tags), registered models and versions
    (tags, aliases), every state-DB row, and the files of the state folder."""
    uri = settings.resolved_tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiments = client.search_experiments(view_type=ViewType.ALL)
    runs = client.search_runs(
        [e.experiment_id for e in experiments], run_view_type=ViewType.ALL, max_results=1000
    )
    engine = sa.create_engine(settings.resolved_database_url)
    try:
        tables: dict[str, list[tuple[Any, ...]]] = {}
        metadata = sa.MetaData()
        metadata.reflect(engine)
        with engine.connect() as conn:
            for name, table in sorted(metadata.tables.items()):
                tables[name] = sorted(tuple(map(str, row)) for row in conn.execute(table.select()))
    finally:
        engine.dispose()
    home = settings.home
    files = sorted(
        str(p.relative_to(home))
        for p in home.rglob("*")
        if p.is_file() and not p.name.endswith(LOCK_SUFFIXES)
    )
    return {
        "experiments": sorted(
            (e.experiment_id, e.name, e.lifecycle_stage, sorted(e.tags.items()))
            for e in experiments
        ),
        "runs": sorted(_run_record(r) for r in runs),
        "models": sorted(
            (m.name, sorted(m.aliases.items()), sorted(m.tags.items()))
            for m in client.search_registered_models()
        ),
        "versions": sorted(
            (v.name, v.version, v.status, sorted(v.tags.items()))
            for v in client.search_model_versions()
        ),
        "state_db": tables,
        "files": files,
    }


@pytest.fixture
def state_snapshot() -> Callable[[Settings], dict[str, Any]]:
    return snapshot


# --- a real SMTP server that requires a login ----------------------------------------------------


@dataclass
class _Handler:
    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class AuthSmtpServer:
    """aiosmtpd on 127.0.0.1 that refuses mail until the client logs in as user/password."""

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self.password = password
        self.port = free_port()
        self.handler = _Handler()
        self.logins: list[bool] = []
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate,
            auth_required=True,
            auth_require_tls=False,
        )

    def _authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.user
            and auth_data.password.decode() == self.password
        )
        self.logins.append(ok)
        return AuthResult(success=ok)

    @property
    def received(self) -> list[Envelope]:
        return self.handler.envelopes


@pytest.fixture
def auth_smtp() -> Iterator[Callable[[str, str], AuthSmtpServer]]:
    """Start servers that require a login; all are stopped at the end of the test."""
    started: list[AuthSmtpServer] = []

    def start(user: str, password: str) -> AuthSmtpServer:
        server = AuthSmtpServer(user, password)
        server.controller.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.controller.stop()


@pytest.fixture
def repository_root() -> Path:
    return Path(__file__).resolve().parents[2]
