"""The job locks: a file lock across processes, and a PostgreSQL advisory lock for real."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from jobs.daemon.locks import AdvisoryJobLock, FileJobLock, advisory_key, daemon_lock, job_lock
from nbaprops.settings import Settings
from nbaprops.statedb import state_engine

HOLD_A_FILE_LOCK = """
import sys, time
from pathlib import Path
from jobs.daemon.locks import FileJobLock
lock = FileJobLock(sys.argv[1], Path(sys.argv[2]))
assert lock.try_acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_a_file_lock_excludes_other_holders_even_in_one_process(tmp_path: Path) -> None:
    first, second = FileJobLock("job-ingest", tmp_path), FileJobLock("job-ingest", tmp_path)
    assert first.try_acquire()
    assert not first.try_acquire()  # not reentrant
    assert not second.try_acquire()
    assert not second.acquire(timeout=0.3)
    first.release()
    assert second.try_acquire()
    second.release()
    assert FileJobLock("job-backtest", tmp_path).try_acquire()  # other names are independent


def test_a_file_lock_held_by_a_process_is_freed_when_it_dies(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_FILE_LOCK, "job-ingest", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        lock = FileJobLock("job-ingest", tmp_path)
        assert not lock.try_acquire()
        holder.kill()
        holder.wait()
        assert lock.acquire(timeout=5)
        lock.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_sqlite_state_uses_file_locks_in_home(settings: Settings) -> None:
    engine = state_engine(settings)
    lock = job_lock(settings, engine, "ingest")
    assert isinstance(lock, FileJobLock)
    assert lock.path == settings.home / "locks" / "job-ingest.lock"
    assert isinstance(daemon_lock(settings, engine), FileJobLock)


def test_advisory_keys_are_stable_and_distinct() -> None:
    assert advisory_key("job-ingest") == advisory_key("job-ingest")
    assert advisory_key("job-ingest") != advisory_key("job-backtest")
    assert -(2**63) <= advisory_key("scheduler") < 2**63


@pytest.mark.postgres
def test_postgres_state_uses_advisory_locks_across_connections(
    postgres_url: str, settings: Settings
) -> None:
    first_engine, second_engine = sa.create_engine(postgres_url), sa.create_engine(postgres_url)
    try:
        first = job_lock(settings, first_engine, "ingest")
        second = job_lock(settings, second_engine, "ingest")
        assert isinstance(first, AdvisoryJobLock) and isinstance(second, AdvisoryJobLock)
        assert first.try_acquire()
        assert not second.try_acquire()
        assert not second.acquire(timeout=0.3)
        assert job_lock(settings, second_engine, "backtest").try_acquire()
        first.release()
        assert second.try_acquire()
        # A holder whose connection dies loses the lock (PostgreSQL ends the session).
        assert second._connection is not None
        second._connection.invalidate()
        assert first.acquire(timeout=5)
        first.release()
        second.release()  # harmless after its connection died
    finally:
        first_engine.dispose()
        second_engine.dispose()
