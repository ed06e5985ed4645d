"""Fixtures of the reliability suite: a lived-in state to compare before and after a bad
input, a snapshot of everything MLflow and the state database hold, a real SMTP server that
requires a login, and the count of bad inputs rejected printed at the end of the session.

Every test takes these through fixtures (test modules never import each other or this file).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient

from nbaprops.settings import Settings
from tests.support.environment import settings_environment as environment_of
from tests.support.on_demand import made_on_demand
from tests.support.outcomes import case_recorder, recorded_outcomes
from tests.support.smtp import Login, SmtpServer
from tests.support.stores import lived_in_store, tiny_settings

BAD_INPUT = "bad_input"
LOCK_SUFFIXES = (".lock",)

# --- the count the README quotes -----------------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """Print 'bad inputs rejected: N of M' for the README (see its reliability section)."""
    outcomes = recorded_outcomes(terminalreporter, BAD_INPUT)
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
    return case_recorder(request, BAD_INPUT)


# --- a lived-in state ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def lived_in(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state folder with a trained run, registered as version 1 and put in production."""
    settings = tiny_settings(tmp_path_factory.mktemp("lived-in") / "state")
    return lived_in_store(settings, "the lived-in state of the reliability tests").home


@pytest.fixture
def lived_in_settings(tmp_path: Path, lived_in: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private copy of the lived-in state; the working folder is empty (no stray .env)."""
    home = tmp_path / "state"
    shutil.copytree(lived_in, home, ignore=shutil.ignore_patterns("*.lock"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tiny_settings(home)


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


class LivedInState:
    """A private copy of the lived-in state: the environment that points the CLI at it, and a
    check that a command leaves it exactly as it was."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def environment(self, **extra: Any) -> dict[str, str]:
        return environment_of(self.settings, **extra)

    @contextmanager
    def left_as_it_was(self) -> Iterator[None]:
        """Snapshot the state, run the block, and fail if anything in the state changed."""
        before = snapshot(self.settings)
        yield
        assert snapshot(self.settings) == before


@pytest.fixture
def lived_in_state(lived_in_settings: Settings) -> LivedInState:
    return LivedInState(lived_in_settings)


# --- a real SMTP server that requires a login ----------------------------------------------------


@pytest.fixture
def auth_smtp() -> Iterator[Callable[[str, str], SmtpServer]]:
    """Start servers that require a login; all are stopped at the end of the test."""

    def start(_: int, user: str, password: str) -> SmtpServer:
        return SmtpServer(login=Login(user, password, required=True)).start()

    with made_on_demand(start, SmtpServer.stop) as starter:
        yield starter


@pytest.fixture
def repository_root() -> Path:
    return Path(__file__).resolve().parents[2]
