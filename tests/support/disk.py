"""A disk that fills up in the middle of a write, for where no tiny file system can be mounted."""

from __future__ import annotations

import errno
import os

_REAL_FDOPEN = os.fdopen


def disk_full_error() -> OSError:
    """The error a write, fsync or rename raises on a full disk."""
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class FullDiskFile:
    """Stands in for `os.fdopen` in a binary writer: the file opens, but every write stores
    half of its bytes and then fails with ENOSPC."""

    def __init__(self, fd: int, mode: str) -> None:
        assert mode == "wb", f"a binary writer was expected, not mode {mode!r}"
        self._handle = _REAL_FDOPEN(fd, mode)

    def __enter__(self) -> FullDiskFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()

    def write(self, data: bytes) -> int:
        self._handle.write(data[: len(data) // 2])
        raise disk_full_error()
