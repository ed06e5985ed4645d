"""A throwaway PostgreSQL cluster that a fault test can stop and start again on the same port.

`initdb` + `pg_ctl` from the machine's binaries (as the unprivileged `postgres` user when run as
root, since PostgreSQL refuses root), trust authentication, listening on 127.0.0.1 only. The
`stop_command`/`start_command` lists are what a hook in another process runs to restart it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import sqlalchemy as sa

from tests.support.ports import free_port
from tests.support.postgres import PG_USER, find_bindir, missing_reason
from tests.support.postgres import as_postgres_user as _as_user

__all__ = ["RestartableCluster", "missing_reason"]


class RestartableCluster:
    """One cluster in a temporary folder: start, stop (fast), start again, remove."""

    def __init__(self) -> None:
        bindir = find_bindir()
        assert bindir is not None, missing_reason()
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="nbaprops-pg-faults-"))
        if os.geteuid() == 0:
            shutil.chown(self.folder, user=PG_USER)
        self.data = self.folder / "data"
        self.port = free_port()
        options = f"-k {self.folder} -h 127.0.0.1 -p {self.port} -F"
        pg_ctl = str(self.bindir / "pg_ctl")
        log = str(self.folder / "server.log")
        self.start_command = _as_user([pg_ctl, "-D", str(self.data), "-o", options, "-l", log,
                                       "-w", "start"])  # fmt: skip
        self.stop_command = _as_user([pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def init(self) -> RestartableCluster:
        done = subprocess.run(
            _as_user([str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust",
                      "-U", PG_USER, "-N", "-E", "UTF8", "--no-locale"]),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stderr}")
        return self.start()

    def start(self) -> RestartableCluster:
        done = subprocess.run(self.start_command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start:\n{done.stderr}\n{self.log()}")
        return self

    def stop(self) -> None:
        subprocess.run(self.stop_command, capture_output=True, text=True, timeout=120)

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database; its URL."""
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def remove(self) -> None:
        """Stop the cluster at once and delete its folder."""
        if self.running():
            subprocess.run(
                _as_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                          "-w", "stop"]),
                capture_output=True, timeout=120,
            )  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)
