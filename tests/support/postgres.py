"""One throwaway PostgreSQL cluster for every suite that needs one, from the machine's binaries.

The cluster lives in a temporary folder for the whole session: `initdb` + `pg_ctl` run as an
unprivileged user (PostgreSQL refuses root; as root the tools run as `postgres` via `runuser`),
it listens on a Unix socket in that folder only (no TCP: no port to race for, nothing else can
connect), and is stopped and deleted afterwards. Each test gets a fresh database in it
(`postgres_url`). tests/conftest.py registers this module as a plugin: one cluster a session.

Without the binaries the tests are skipped with the reason, except in CI (`CI=true` or
`NBAPROPS_CI=1`), where a missing PostgreSQL is a failure: CI must run these tests for real.
`NBAPROPS_PG_BINDIR` points at another folder of binaries (default: PATH, then
/usr/lib/postgresql/<version>/bin, newest first).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
import sqlalchemy as sa

from tests.support.ci import IN_CI

PG_USER = "postgres"
_database_numbers = itertools.count()


def unavailable(reason: str) -> NoReturn:
    """Skip locally; fail in CI, saying what to install."""
    if IN_CI:
        pytest.fail(
            f"{reason}; CI runs the PostgreSQL tests for real: "
            "apt-get install -y postgresql-15 (see .ci/run)",
            pytrace=False,
        )
    pytest.skip(reason)


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl, or None."""
    override = os.environ.get("NBAPROPS_PG_BINDIR")
    if override:
        folder = Path(override)
        return folder if (folder / "initdb").exists() and (folder / "pg_ctl").exists() else None
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(os.path.realpath(initdb)).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
        reverse=True,
    )
    return Path(candidates[0]).parent if candidates else None


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway cluster: where it listens and who may connect (trust auth)."""

    socket_dir: str
    bindir: Path
    user: str = PG_USER

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy/MLflow URL of `database` over the cluster's socket (psycopg 3)."""
        return f"postgresql+psycopg://{self.user}@/{database}?host={self.socket_dir}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        self._administer(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database even while clients still hold connections to it."""
        self._administer(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _administer(self, statement: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(statement))
        finally:
            engine.dispose()


def as_postgres_user(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", PG_USER, "--", *args]
    return args


def missing_reason() -> str | None:
    """Why no cluster can be started here (None: it can)."""
    if find_bindir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root without runuser: cannot start PostgreSQL as a user"
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            return f"running as root and there is no unprivileged {PG_USER!r} user"
    return None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start the session's cluster (skipped, or failed in CI, when PostgreSQL is missing)."""
    reason = missing_reason()
    if reason is not None:
        unavailable(reason)
    bindir = find_bindir()
    assert bindir is not None

    folder = tempfile.mkdtemp(prefix="nbaprops-pg-")
    if os.geteuid() == 0:
        shutil.chown(folder, user=PG_USER)
    data = os.path.join(folder, "data")
    log = os.path.join(folder, "server.log")

    def pg(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            as_postgres_user(list(args)), capture_output=True, text=True, timeout=120
        )

    try:
        init = pg(
            str(bindir / "initdb"), "-D", data, "-A", "trust", "-U", PG_USER,
            "-N", "-E", "UTF8", "--no-locale",
        )  # fmt: skip
        if init.returncode != 0:
            pytest.fail(f"initdb failed:\n{init.stderr}", pytrace=False)
        # The default port names the socket file: clients need no port in their URL.
        options = f"-k {folder} -h '' -F"
        started = pg(str(bindir / "pg_ctl"), "-D", data, "-o", options, "-l", log, "-w", "start")
        if started.returncode != 0:
            server_log = Path(log).read_text() if os.path.exists(log) else "(no log)"
            pytest.fail(f"PostgreSQL did not start:\n{server_log}", pytrace=False)
        yield PostgresServer(folder, bindir)
    finally:
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            pg(str(bindir / "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for one test; dropped afterwards."""
    name = f"nbaprops_test_{os.getpid()}_{next(_database_numbers)}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)
