"""Cross-process locks shared by the daemon and the CLI: one per job, one for the daemon itself.

With the default SQLite state DB every process runs on one machine, so a file lock under
`<home>/locks/` is enough (the OS drops it when the holder dies). With PostgreSQL the
processes may run anywhere, so the lock is a session-level advisory lock keyed by a hash of
the name, held on a dedicated connection; PostgreSQL drops it when that connection closes.
"""

from __future__ import annotations

import hashlib
import time
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa
from filelock import FileLock, Timeout

from nbaprops.settings import Settings
from nbaprops.statedb import is_postgres

DAEMON_LOCK = "scheduler"
POLL_SECONDS = 0.25


class JobLock(ABC):
    """A named, non-reentrant lock held by one process at a time."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.held = False

    @abstractmethod
    def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits."""

    @abstractmethod
    def release(self) -> None:
        """Give the lock back (no-op when not held)."""

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait for the lock, up to `timeout` seconds (None: as long as it takes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.try_acquire():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)
        return True

    def __enter__(self) -> JobLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class FileJobLock(JobLock):
    """An OS file lock (flock) on `<folder>/<name>.lock`."""

    def __init__(self, name: str, folder: Path) -> None:
        super().__init__(name)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{name}.lock"
        self._lock = FileLock(str(self.path), thread_local=False)

    def try_acquire(self) -> bool:
        if self.held:
            return False
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        self.held = True
        return True

    def release(self) -> None:
        if self.held:
            self._lock.release(force=True)
            self.held = False


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (PostgreSQL advisory locks take a bigint)."""
    digest = hashlib.blake2b(f"nbaprops:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class AdvisoryJobLock(JobLock):
    """A PostgreSQL session-level advisory lock, held on its own connection."""

    def __init__(self, name: str, engine: sa.Engine) -> None:
        super().__init__(name)
        self.engine = engine
        self.key = advisory_key(name)
        self._connection: sa.Connection | None = None

    def try_acquire(self) -> bool:
        if self.held:
            return False
        connection = self.engine.connect()
        try:
            got = connection.execute(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar()
            connection.commit()
        except BaseException:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        self.held = True
        return True

    def release(self) -> None:
        if not self.held or self._connection is None:
            return
        connection, self._connection = self._connection, None
        self.held = False
        try:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            connection.commit()
        except sa.exc.DBAPIError:
            connection.invalidate()  # a dropped connection has released the lock already
        finally:
            connection.close()


def named_lock(settings: Settings, engine: sa.Engine, name: str) -> JobLock:
    """The lock called `name`, of the kind that fits the state database."""
    if is_postgres(engine):
        return AdvisoryJobLock(name, engine)
    return FileJobLock(name, settings.home / "locks")


def job_lock(settings: Settings, engine: sa.Engine, job: str) -> JobLock:
    """The lock a run of `job` holds, whether the daemon or the CLI started it."""
    return named_lock(settings, engine, f"job-{job}")


def daemon_lock(settings: Settings, engine: sa.Engine) -> JobLock:
    """The lock the one scheduler daemon of a state database holds while it runs."""
    return named_lock(settings, engine, DAEMON_LOCK)
