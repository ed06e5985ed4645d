"""`nbaprops init` and `nbaprops scheduler start` migrate the state DB, or refuse a newer one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from jobs.cli.main import cli
from nbaprops.statedb import current_revision, head_revision, upgrade
from nbaprops.statedb.migrate import VERSION_TABLE
from tests.statedb.release_0_1_0 import EXPECTED_COUNTS

FIXTURE = Path(__file__).parent / "fixtures" / "state-0.1.0.db"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state folder holding a release-0.1.0 state database; no .env in the way."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "home"
    folder.mkdir()
    shutil.copy(FIXTURE, folder / "state.db")
    return folder


def engine_of(home: Path) -> sa.Engine:
    """A fresh engine on the folder's state database."""
    return sa.create_engine(f"sqlite:///{home / 'state.db'}")


def counts(engine: sa.Engine) -> dict[str, int]:
    """Rows per project table."""
    with engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in EXPECTED_COUNTS}  # fmt: skip


def make_newer(home: Path) -> None:
    """Stamp the database with a revision from a release this code has never seen."""
    engine = engine_of(home)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '0099_future'"))
    engine.dispose()


def test_init_adopts_a_release_0_1_0_state_folder(home: Path) -> None:
    result = CliRunner().invoke(cli, ["init"], env={"NBAPROPS_HOME": str(home)})
    assert result.exit_code == 0, result.output
    assert f"(schema {head_revision()})" in result.output
    engine = engine_of(home)
    assert current_revision(engine) == head_revision()
    assert counts(engine) == EXPECTED_COUNTS


def test_init_refuses_a_newer_state_database(home: Path) -> None:
    make_newer(home)
    result = CliRunner().invoke(cli, ["init"], env={"NBAPROPS_HOME": str(home)})
    assert result.exit_code == 2, result.output
    assert "schema revision '0099_future'" in result.output
    assert "Traceback" not in result.output
    assert not (home / "mlflow.db").exists()  # refused before anything was created
    assert current_revision(engine_of(home)) == "0099_future"


def test_daemon_refuses_to_start_on_a_newer_state_database(home: Path) -> None:
    make_newer(home)
    env = {"NBAPROPS_HOME": str(home)}
    result = CliRunner().invoke(cli, ["scheduler", "start"], env=env)
    assert result.exit_code == 2, result.output
    assert "newer release upgraded it" in result.output
    assert counts(engine_of(home)) == EXPECTED_COUNTS
