"""A running Dask cluster on 127.0.0.1, as a user would start with `dask scheduler` and two
single-threaded `dask worker`s (Dask is an optional extra: callers skip without it)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def local_dask_cluster(*, processes: bool) -> Iterator[str]:
    """Two single-threaded workers, in processes of their own or as threads of this one, over
    TCP either way; yields the scheduler's address."""
    import distributed

    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=processes,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:
        yield cluster.scheduler_address
