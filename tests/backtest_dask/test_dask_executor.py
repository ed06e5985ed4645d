"""Walk-forward folds on Dask give exactly what the local executor gives for the same seed."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from nbaprops.backtest.executor import ExecutorError, run_folds
from nbaprops.backtest.folds import FoldResult
from nbaprops.backtest.walkforward import BacktestSpec, backtest_metrics, plan_folds
from nbaprops.betting.bets import simulate_bets
from nbaprops.data.feed import Feed
from nbaprops.splits import Fold
from nbaprops.training.prepare import PreparedData, prepare
from tests.support.dask_cluster import local_dask_cluster

distributed = pytest.importorskip("distributed", reason="Dask is an optional extra: nbaprops[dask]")

SPEC = BacktestSpec(params={"n_estimators": 30, "max_depth": 3}, refit_days=45, seed=7, workers=2)


@pytest.fixture(scope="module")
def prepared(small_feed: Feed) -> PreparedData:
    return prepare(small_feed, "PTS", "full")


@pytest.fixture(scope="module")
def folds(prepared: PreparedData) -> list[Fold]:
    planned = plan_folds(prepared, SPEC)
    assert len(planned) >= 3, "the comparison needs several folds"
    return planned


@pytest.fixture(scope="module")
def local_results(prepared: PreparedData, folds: list[Fold]) -> list[FoldResult]:
    """The reference: every fold in this process, one after the other."""
    return run_folds(prepared, folds, SPEC.fold_spec(), workers=1, executor="local")


@pytest.fixture(scope="module")
def scheduler_address() -> Iterator[str]:
    """An already running Dask cluster, its workers threads of this process."""
    with local_dask_cluster(processes=False) as address:
        yield address


def _assert_same_folds(expected: list[FoldResult], actual: list[FoldResult]) -> None:
    assert [r.index for r in actual] == list(range(len(expected)))
    for want, got in zip(expected, actual, strict=True):
        assert (got.train_end, got.test_start, got.test_end, got.n_train) == (
            want.train_end,
            want.test_start,
            want.test_end,
            want.n_train,
        )
        pd.testing.assert_frame_equal(got.predictions, want.predictions, check_exact=True)
        pd.testing.assert_frame_equal(got.props, want.props, check_exact=True)


def _metrics(results: list[FoldResult]) -> dict[str, float]:
    """What run_backtest computes from the folds: the ledger and every walk-forward metric."""
    predictions = pd.concat([r.predictions for r in results], ignore_index=True)
    props = pd.concat([r.props for r in results], ignore_index=True)
    ledger = simulate_bets(
        props,
        edge_threshold=SPEC.edge_threshold,
        kelly_multiplier=SPEC.kelly_multiplier,
        kelly_cap=SPEC.kelly_cap,
        line_shopping=SPEC.line_shopping,
    )
    return backtest_metrics(predictions, props, ledger)


def test_default_local_cluster_matches_the_local_executor(
    prepared: PreparedData, folds: list[Fold], local_results: list[FoldResult]
) -> None:
    seen: list[tuple[int, int, int]] = []
    dask_results = run_folds(
        prepared,
        folds,
        SPEC.fold_spec(),
        workers=2,
        progress=lambda result, done, total: seen.append((result.index, done, total)),
        executor="dask",
    )
    _assert_same_folds(local_results, dask_results)
    assert sorted(index for index, _, _ in seen) == list(range(len(folds)))
    assert [done for _, done, _ in seen] == list(range(1, len(folds) + 1))
    assert {total for _, _, total in seen} == {len(folds)}
    local_metrics, dask_metrics = _metrics(local_results), _metrics(dask_results)
    assert dask_metrics.keys() == local_metrics.keys()
    for name, value in local_metrics.items():
        assert dask_metrics[name] == pytest.approx(value, rel=0, abs=0, nan_ok=True), name
    assert local_metrics["bet_count"] > 0


def test_an_existing_scheduler_runs_the_same_folds(
    prepared: PreparedData,
    folds: list[Fold],
    local_results: list[FoldResult],
    scheduler_address: str,
) -> None:
    dask_results = run_folds(
        prepared,
        folds,
        SPEC.fold_spec(),
        workers=2,
        executor="dask",
        dask_address=scheduler_address,
    )
    _assert_same_folds(local_results, dask_results)
    # the client closed behind itself: the user's cluster is still up and free of our tasks
    with distributed.Client(scheduler_address, set_as_default=False) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        assert not client.who_has()


def test_the_local_pool_matches_the_sequential_run(
    prepared: PreparedData, folds: list[Fold], local_results: list[FoldResult]
) -> None:
    pooled = run_folds(prepared, folds, SPEC.fold_spec(), workers=2, executor="local")
    _assert_same_folds(local_results, pooled)


def test_an_unknown_executor_names_the_choices(prepared: PreparedData, folds: list[Fold]) -> None:
    with pytest.raises(ExecutorError, match="NBAPROPS_EXECUTOR to one of: local, dask"):
        run_folds(prepared, folds, SPEC.fold_spec(), executor="ray")
