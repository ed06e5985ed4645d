"""Another process holding an exclusive lock on a SQLite database, for the tests of what waits
for a locked store, and of what fails naming it."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

# argv: database, hold ("until-told" or seconds), table to count ("" for none), path to watch
# ("" for none). What it saw is taken just before it lets go, while it still holds the lock.
_HOLDER = """
import json, os, sqlite3, sys, time
database, hold, table, watch = sys.argv[1:5]
conn = sqlite3.connect(database, isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
if hold == "until-told":
    sys.stdin.readline()
else:
    time.sleep(float(hold))
rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] if table else None
existed = os.path.exists(watch) if watch else None
released = time.time()
conn.execute("COMMIT")
print(json.dumps({"released": released, "rows": rows, "existed": existed}), flush=True)
"""


@dataclass(frozen=True)
class Released:
    """When the lock was let go, and what the holder saw just before."""

    at: dt.datetime
    rows: int | None  # rows of the counted table
    existed: bool | None  # whether the watched path existed


class ExclusiveLock:
    """`BEGIN EXCLUSIVE` on `database` in a process of its own, held from entering the block
    for `seconds` (or, with None, until `release()`); the holder is killed on leaving if it
    still runs."""

    def __init__(
        self,
        database: Path,
        seconds: float | None = None,
        *,
        count_rows_of: str = "",
        watch: Path | None = None,
    ) -> None:
        hold = "until-told" if seconds is None else str(seconds)
        self._argv = [str(database), hold, count_rows_of, str(watch) if watch else ""]
        self._until_told = seconds is None
        self._holder: subprocess.Popen[str] | None = None

    def __enter__(self) -> ExclusiveLock:
        self._holder = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, *self._argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._holder.stdout is not None
        assert self._holder.stdout.readline().strip() == "locked"
        return self

    def held(self) -> bool:
        """Whether the holder still runs (and so still holds the lock)."""
        return self._holder is not None and self._holder.poll() is None

    def release(self, timeout: float = 60) -> Released:
        """Tell the holder to let go (or wait for its time to run out) and read what it saw."""
        assert self._holder is not None, "release() inside the `with` block"
        said, _ = self._holder.communicate("\n" if self._until_told else None, timeout=timeout)
        assert self._holder.returncode == 0, f"the lock holder failed: {said!r}"
        seen = json.loads(said)
        at = dt.datetime.fromtimestamp(seen["released"], dt.UTC)
        return Released(at, seen["rows"], seen["existed"])

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.held():
            assert self._holder is not None
            self._holder.kill()
            self._holder.wait()
