"""Run walk-forward folds in parallel: a local process pool (default) or Dask.

The prepared data is shipped once per worker (pool initializer), not once per fold, and
features are never recomputed inside a fold.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

from nbaprops.backtest.folds import FoldResult, FoldSpec, run_fold
from nbaprops.splits import Fold
from nbaprops.training.prepare import PreparedData

_WORKER_DATA: PreparedData | None = None
Progress = Callable[[FoldResult, int, int], None]


def _init_worker(data: PreparedData) -> None:
    global _WORKER_DATA
    _WORKER_DATA = data


def _run_in_worker(index: int, fold: Fold, spec: FoldSpec) -> FoldResult:
    assert _WORKER_DATA is not None, "worker was not initialised with the prepared data"
    return run_fold(index, fold, _WORKER_DATA, spec)


def run_folds(
    data: PreparedData,
    folds: Sequence[Fold],
    spec: FoldSpec,
    workers: int = 1,
    progress: Progress | None = None,
) -> list[FoldResult]:
    """Results of every fold, in fold order; `workers` > 1 uses a process pool."""
    results: list[FoldResult] = []
    for result in _iter_results(data, folds, spec, workers):
        results.append(result)
        if progress is not None:
            progress(result, len(results), len(folds))
    return sorted(results, key=lambda r: r.index)


def _iter_results(
    data: PreparedData, folds: Sequence[Fold], spec: FoldSpec, workers: int
) -> Iterator[FoldResult]:
    if workers <= 1 or len(folds) <= 1:
        for i, fold in enumerate(folds):
            yield run_fold(i, fold, data, spec)
        return
    # forkserver: boosters' OpenMP thread pools do not survive fork() in the parent's state.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(folds)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(data,),
    ) as pool:
        futures = [pool.submit(_run_in_worker, i, fold, spec) for i, fold in enumerate(folds)]
        for future in as_completed(futures):
            yield future.result()
