"""Where parallel work runs: the executor names and a Dask client that cleans up behind itself.

Shared by the walk-forward folds and the ensemble members. Dask is an optional extra
(`pip install 'nbaprops[dask]'`), imported only when chosen.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from distributed import Client

Executor = Literal["local", "dask"]
EXECUTORS: tuple[str, ...] = ("local", "dask")


class ExecutorError(RuntimeError):
    """The chosen executor cannot run: unknown name, Dask missing, or its scheduler unreachable."""


def check_executor(name: str) -> None:
    """Refuse an executor nbaprops does not know, naming the choices."""
    if name not in EXECUTORS:
        raise ExecutorError(
            f"unknown executor {name!r}; set NBAPROPS_EXECUTOR to one of: " + ", ".join(EXECUTORS)
        )


def import_distributed() -> ModuleType:
    """The `distributed` package, or an error telling the user how to get it."""
    try:
        import distributed
    except ImportError as error:
        raise ExecutorError(
            "NBAPROPS_EXECUTOR=dask needs Dask: pip install 'nbaprops[dask]' "
            "(or set NBAPROPS_EXECUTOR=local)"
        ) from error
    return distributed


@contextlib.contextmanager
def dask_client(address: str | None, n_workers: int) -> Iterator[Client]:
    """A client of the scheduler at `address`, else of a throwaway local cluster.

    The local cluster has `n_workers` single-threaded worker processes on 127.0.0.1 and no
    dashboard; it is shut down on exit. A given scheduler is left running, only the client closes.
    """
    distributed = import_distributed()
    with contextlib.ExitStack() as stack:
        if address:
            try:
                client = stack.enter_context(
                    distributed.Client(address, set_as_default=False, timeout=30)
                )
            except (OSError, TimeoutError) as error:
                raise ExecutorError(
                    f"cannot reach the Dask scheduler at {address!r}: start it "
                    "(`dask scheduler`, plus `dask worker` processes with nbaprops installed) "
                    "or unset NBAPROPS_DASK_SCHEDULER to use a local cluster"
                ) from error
        else:
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=max(1, n_workers),
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            )
            client = stack.enter_context(distributed.Client(cluster, set_as_default=False))
        yield client
