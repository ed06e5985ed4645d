"""Run walk-forward folds in parallel: a local process pool (default) or Dask.

Both executors run the same pure `run_fold`, ship the prepared data once (one file every pool
worker reads, or one Dask scatter to every worker) rather than once per fold, never recompute
features inside a fold, and return the results in fold order, so a seed gives the same backtest
wherever it runs. What is shipped is `fold_data`: the lines of the target market only.
Dask is an optional extra (`pip install 'nbaprops[dask]'`), imported only when chosen.
"""

from __future__ import annotations

import multiprocessing
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace

from nbaprops.backtest.folds import FoldResult, FoldSpec, run_fold
from nbaprops.distributed import (
    EXECUTORS,
    Executor,
    ExecutorError,
    check_executor,
    dask_client,
    import_distributed,
)
from nbaprops.splits import Fold
from nbaprops.training.prepare import PreparedData

__all__ = ["EXECUTORS", "Executor", "ExecutorError", "Progress", "run_folds"]

_WORKER_DATA: PreparedData | None = None
Progress = Callable[[FoldResult, int, int], None]


def fold_data(data: PreparedData) -> PreparedData:
    """The data a fold reads: a fold fits and scores the target market's lines only, so the
    other markets' (three quarters of a four-market feed) are not shipped to the workers."""
    lines = data.lines
    if "market" in lines:
        lines = lines[lines["market"] == data.target].reset_index(drop=True)
    return replace(data, lines=lines)


def forkserver_preload() -> list[str]:
    """What the fork server imports once, so that each worker forked from it starts with it
    loaded: the fold code, and the parent's main module, which every worker would otherwise
    import again before its first fold (multiprocessing re-imports it; a CLI's or a
    benchmark's main pulls in MLflow and the jobs, about 2 s a worker). A `python -m` module is
    preloaded by name, a script as `__main__`, as multiprocessing's fork server allows."""
    names = ["nbaprops.backtest.forkserver_setup", "nbaprops.backtest.folds"]
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name and not spec.name.endswith("__main__"):
        names.append(spec.name)
    elif spec is None and getattr(main, "__file__", None):
        names.append("__main__")
    return names


def _init_worker(path: str) -> None:
    """Read the pool's data file once per worker (a pipe per worker would carry it again)."""
    global _WORKER_DATA
    with open(path, "rb") as handle:
        _WORKER_DATA = pickle.load(handle)


def _run_in_worker(index: int, fold: Fold, spec: FoldSpec) -> FoldResult:
    assert _WORKER_DATA is not None, "worker was not initialised with the prepared data"
    return run_fold(index, fold, _WORKER_DATA, spec)


def run_folds(
    data: PreparedData,
    folds: Sequence[Fold],
    spec: FoldSpec,
    workers: int = 1,
    progress: Progress | None = None,
    executor: str = "local",
    dask_address: str | None = None,
) -> list[FoldResult]:
    """Results of every fold, in fold order.

    `executor="local"`: `workers` > 1 uses a process pool, else the folds run in this process.
    `executor="dask"`: the folds run as Dask tasks on the scheduler at `dask_address`, or on a
    throwaway `LocalCluster` of `workers` single-threaded processes when no address is given.
    """
    check_executor(executor)
    if executor == "dask":
        stream = _iter_dask_results(data, folds, spec, workers, dask_address)
    else:
        stream = _iter_local_results(data, folds, spec, workers)
    results: list[FoldResult] = []
    for result in stream:
        results.append(result)
        if progress is not None:
            progress(result, len(results), len(folds))
    return sorted(results, key=lambda r: r.index)


def _iter_local_results(
    data: PreparedData, folds: Sequence[Fold], spec: FoldSpec, workers: int
) -> Iterator[FoldResult]:
    if workers <= 1 or len(folds) <= 1:
        for i, fold in enumerate(folds):
            yield run_fold(i, fold, data, spec)
        return
    # forkserver: boosters' OpenMP thread pools do not survive fork() in the parent's state.
    # The server imports the fold code and the main module once (forkserver_preload); each
    # worker is forked from it, imports done.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(forkserver_preload())
    with tempfile.NamedTemporaryFile(prefix="nbaprops-folds-", suffix=".pkl") as shipped:
        pickle.dump(fold_data(data), shipped, protocol=pickle.HIGHEST_PROTOCOL)
        shipped.flush()
        with ProcessPoolExecutor(
            max_workers=min(workers, len(folds)),
            mp_context=context,
            initializer=_init_worker,
            initargs=(shipped.name,),
        ) as pool:
            futures = [pool.submit(_run_in_worker, i, fold, spec) for i, fold in enumerate(folds)]
            for future in as_completed(futures):
                yield future.result()


def _iter_dask_results(
    data: PreparedData,
    folds: Sequence[Fold],
    spec: FoldSpec,
    workers: int,
    address: str | None,
) -> Iterator[FoldResult]:
    distributed = import_distributed()
    if not folds:
        return
    with dask_client(address, n_workers=min(workers, len(folds))) as client:
        shared = client.scatter(fold_data(data), broadcast=True, hash=False)
        futures = [
            client.submit(run_fold, i, fold, shared, spec, pure=False)
            for i, fold in enumerate(folds)
        ]
        for future in distributed.as_completed(futures, loop=client.loop):
            yield future.result()
