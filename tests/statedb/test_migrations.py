"""The state database's migrations: fresh, adopted from release 0.1.0, and refused when newer.

The 0.1.0 fixtures were written by that release's own code (commit 867fa5a, through
tests/statedb/release_0_1_0.py): a SQLite file and a pg_dump of the same rows on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from governance.audit import AuditTrail, audit_entry
from governance.audit import metadata as audit_metadata
from governance.intents import metadata as intents_metadata
from governance.intents import pending_intents
from jobs.daemon.history import JobHistory
from jobs.daemon.history import metadata as history_metadata
from jobs.loop.live_predictions import metadata as live_metadata
from nbaprops.statedb import SchemaTooNewError, current_revision, head_revision, upgrade
from nbaprops.statedb.migrate import VERSION_TABLE
from tests.statedb.release_0_1_0 import EXPECTED_COUNTS
from tests.support.postgres import PostgresServer

FIXTURES = Path(__file__).parent / "fixtures"
CODE_TABLES = [
    table
    for metadata in (history_metadata, audit_metadata, live_metadata, intents_metadata)
    for table in metadata.sorted_tables
]


def snapshot(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every project table, in primary-key order."""
    out = {}
    with engine.connect() as conn:
        for name in EXPECTED_COUNTS:
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            key = list(table.primary_key.columns)
            out[name] = [tuple(row) for row in conn.execute(sa.select(table).order_by(*key))]
    return out


def sqlite_copy(tmp_path: Path) -> sa.Engine:
    """A copy of the release-0.1.0 SQLite state database."""
    path = tmp_path / "state.db"
    shutil.copy(FIXTURES / "state-0.1.0.db", path)
    return sa.create_engine(f"sqlite:///{path}")


def postgres_copy(server: PostgresServer, url: str) -> sa.Engine:
    """The release-0.1.0 dump restored into a fresh database with psql."""
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(
        [str(server.bindir / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", libpq,
         "-f", str(FIXTURES / "state-0.1.0.postgres.sql")],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return sa.create_engine(url)


def check_adopted(engine: sa.Engine) -> None:
    """Upgrade a 0.1.0 database and check every row survived and the code can use them."""
    assert current_revision(engine) is None
    before = snapshot(engine)
    assert {name: len(rows) for name, rows in before.items()} == EXPECTED_COUNTS
    assert upgrade(engine) == head_revision()
    assert current_revision(engine) == head_revision()
    assert snapshot(engine) == before
    assert upgrade(engine) == head_revision()  # idempotent
    assert snapshot(engine) == before

    history = JobHistory(engine)
    assert [row.status for row in history.recent()] == ["running", "failed", "succeeded"]
    assert history.get(1) is not None and history.get(1).summary == {"rows": 7}  # type: ignore[union-attr]
    trail = AuditTrail(engine)
    assert [entry.action for entry in trail.since()] == ["register", "evaluate", "promote"]
    assert [intent.kind for intent in pending_intents(engine)] == ["promote"]
    at = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
    trail.record(audit_entry(at, actor="t", action="archive", model_name="M", version="1"))
    assert len(trail.since()) == 4
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log"))
    assert len(trail.since()) == 4


def test_fresh_database_gets_the_tables_the_code_uses(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    assert current_revision(engine) is None
    assert upgrade(engine) == head_revision()
    inspector = sa.inspect(engine)
    assert set(inspector.get_table_names()) == set(EXPECTED_COUNTS) | {VERSION_TABLE}
    for table in CODE_TABLES:
        found = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert list(found) == [c.name for c in table.columns], table.name
        for column in table.columns:
            wanted = column.type.compile(engine.dialect)
            assert str(found[column.name]["type"]) == wanted, (table.name, column.name)
            assert found[column.name]["nullable"] == column.nullable, (table.name, column.name)
        indexes = {index["name"] for index in inspector.get_indexes(table.name)}
        assert {index.name for index in table.indexes} <= indexes, table.name


def test_release_0_1_0_sqlite_database_upgrades_in_place(tmp_path: Path) -> None:
    check_adopted(sqlite_copy(tmp_path))


@pytest.mark.postgres
def test_release_0_1_0_postgres_database_upgrades_in_place(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    engine = postgres_copy(postgres_server, postgres_url)
    try:
        check_adopted(engine)
    finally:
        engine.dispose()


def test_partial_release_0_1_0_database_gets_the_missing_tables(tmp_path: Path) -> None:
    engine = sqlite_copy(tmp_path)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE live_predictions"))
        conn.execute(sa.text("DROP INDEX ix_job_history_status"))
    upgrade(engine)
    inspector = sa.inspect(engine)
    assert inspector.has_table("live_predictions")
    assert "ix_job_history_status" in {i["name"] for i in inspector.get_indexes("job_history")}
    assert len(snapshot(engine)["job_history"]) == EXPECTED_COUNTS["job_history"]


def test_database_newer_than_the_code_is_refused_untouched(tmp_path: Path) -> None:
    engine = sqlite_copy(tmp_path)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '0099_future'"))
    before = snapshot(engine)
    with pytest.raises(SchemaTooNewError, match=r"'0099_future'.*newer release") as caught:
        upgrade(engine)
    assert head_revision() in str(caught.value)
    assert current_revision(engine) == "0099_future"
    assert snapshot(engine) == before


UPGRADE_SCRIPT = "import sys, sqlalchemy as sa; from nbaprops.statedb import upgrade; " \
    "print(upgrade(sa.create_engine(sys.argv[1])))"  # fmt: skip


def upgrade_concurrently(url: str, processes: int = 3) -> list[str]:
    """Start `processes` interpreters upgrading `url` at once; their printed revisions."""
    import sys

    children = [
        subprocess.Popen(
            [sys.executable, "-c", UPGRADE_SCRIPT, url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    outputs = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0] * processes, outputs
    return [out.strip() for out, _ in outputs]


def test_concurrent_upgrades_of_a_sqlite_file_agree(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    assert upgrade_concurrently(url) == [head_revision()] * 3
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        versions = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    assert versions == [(head_revision(),)]


@pytest.mark.postgres
def test_concurrent_upgrades_of_postgres_agree(postgres_url: str) -> None:
    assert upgrade_concurrently(postgres_url) == [head_revision()] * 3
    engine = sa.create_engine(postgres_url)
    try:
        assert current_revision(engine) == head_revision()
        assert set(EXPECTED_COUNTS) <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
