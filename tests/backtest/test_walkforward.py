"""Walk-forward backtest: folds only see the past, results are honest, runs read back whole."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from nbaprops.backtest.folds import LeakageGuardError, run_fold
from nbaprops.backtest.tracked import run_tracked_backtest
from nbaprops.backtest.walkforward import BacktestSpec, plan_folds, run_backtest
from nbaprops.data.feed import Feed
from nbaprops.data.synthetic import SyntheticSource
from nbaprops.features import FeatureFrame
from nbaprops.settings import Settings
from nbaprops.tracking.setup import init_tracking
from nbaprops.training.prepare import PreparedData, prepare
from tests.support.backtests import production_experiment_id

FAST = {"n_estimators": 60, "learning_rate": 0.08, "num_leaves": 7, "min_child_samples": 40}
SEASONS = ("2023-24", "2024-25")
#: What a tracked backtest logs, by what it measures.
BACKTEST_METRICS = {
    "point error": ("wf_mae", "wf_mae_2024_25"),
    "point error by segment": ("wf_mae_tier1_stars", "wf_mae_home", "wf_mae_away", "wf_mae_b2b"),
    "probability quality": ("brier_score", "calibration_error", "sharpness"),
    "bet results": ("bet_count", "wf_win_rate", "wf_roi", "wf_clv", "wf_clv_line"),
    "bankroll risk": ("max_drawdown", "sharpe_ratio", "kelly_criterion"),
    "confidence in the results": ("roi_lower_95", "win_rate_lower_95", "win_rate_p_value"),
}


def _spec(**changes: object) -> BacktestSpec:
    base = BacktestSpec(
        model_type="lightgbm",
        params=FAST,
        start=pd.Timestamp("2025-01-15"),
        refit_days=30,
        workers=1,
        seed=5,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _prepared(seed: int, efficiency: float) -> PreparedData:
    feed = SyntheticSource(seed=seed, teams=6, seasons=SEASONS, market_efficiency=efficiency).load()
    return prepare(feed, "PTS", "full")


@pytest.fixture(scope="module")
def prepared(small_feed: Feed) -> PreparedData:
    return prepare(small_feed, "PTS", "full")


def test_every_fold_trains_strictly_before_its_test_window(prepared: PreparedData) -> None:
    folds = plan_folds(prepared, _spec())
    assert len(folds) >= 3
    dates = prepared.dates.to_numpy()
    for fold in folds:
        assert dates[fold.train_mask].max() < np.datetime64(fold.test_start)
        assert dates[fold.test_mask].min() >= np.datetime64(fold.test_start)
        assert dates[fold.test_mask].max() < np.datetime64(fold.test_end)


def test_the_fold_guard_refuses_a_training_row_from_the_test_window(
    prepared: PreparedData,
) -> None:
    fold = plan_folds(prepared, _spec())[1]
    leaky_mask = fold.train_mask.copy()
    leaky_mask[np.flatnonzero(fold.test_mask)[:5]] = True
    leaky = replace(fold, train_mask=leaky_mask)
    with pytest.raises(LeakageGuardError, match="on or after its first test day"):
        run_fold(0, leaky, prepared, _spec().fold_spec())


def test_parallel_folds_give_the_same_result_as_sequential(prepared: PreparedData) -> None:
    one = run_backtest(prepared, _spec(workers=1))
    two = run_backtest(prepared, _spec(workers=2))
    pd.testing.assert_frame_equal(one.predictions, two.predictions)
    pd.testing.assert_frame_equal(one.ledger.bets, two.ledger.bets)
    assert one.metrics["wf_roi"] == two.metrics["wf_roi"]


def test_tracked_backtest_reads_back_with_every_metric_and_artifact(
    settings: Settings, prepared: PreparedData
) -> None:
    client = init_tracking(settings)
    experiment_id = production_experiment_id(client)
    tracked = run_tracked_backtest(
        prepared, _spec(), experiment_id, dt.date(2025, 6, 1), client=client
    )
    reader = MlflowClient(settings.resolved_tracking_uri)
    run = reader.get_run(tracked.run_id)
    assert run.info.status == "FINISHED"
    for measure, names in BACKTEST_METRICS.items():
        for name in names:
            assert name in run.data.metrics, f"{measure}: {name}"
            assert math.isfinite(run.data.metrics[name]), f"{measure}: {name}"
    assert run.data.metrics["bet_count"] > 50
    assert 0.0 <= run.data.metrics["wf_win_rate"] <= 1.0
    assert 0.0 <= run.data.metrics["max_drawdown"] <= 1.0
    assert run.data.tags["backtest_window"].startswith("2025-01-15..")
    assert "sharpe_convention" in run.data.tags
    artifacts = {a.path for a in reader.list_artifacts(tracked.run_id)}
    for name in ("bets.csv", "bankroll.png", "calibration_curve.png", "roi_by_edge.png"):
        assert name in artifacts, name
    assert "predictions_2024_25.csv" in artifacts
    children = reader.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{tracked.run_id}'")
    assert len(children) == len(tracked.result.folds)
    assert all("fold_mae" in c.data.metrics for c in children)
    bets = pd.read_csv(reader.download_artifacts(tracked.run_id, "bets.csv"))
    decided = bets["result"].isin(["win", "loss"])
    assert decided.sum() == run.data.metrics["bet_count"]
    assert (~decided).sum() == run.data.metrics["push_count"] + run.data.metrics["void_count"]
    assert run.data.metrics["books_set_aside"] == 0.0  # the generator's books are honest
    assert "edge_concentration" in run.data.metrics
    assert any(key.startswith("roi_book_") for key in run.data.metrics)
    assert "book_sanity.csv" in artifacts
    assert {"side", "price", "p_model", "edge", "stake_flat", "stake_kelly", "result"} <= set(
        bets.columns
    )
    assert (bets["edge"] >= 0.02 - 1e-12).all()


@pytest.mark.parametrize("seed", [101, 202, 303])
def test_an_efficient_book_shows_no_edge(seed: int) -> None:
    """Book line = the true median: the ROI's 95% bound must not clear breakeven."""
    result = run_backtest(_prepared(seed, efficiency=1.0), _spec())
    assert result.metrics["bet_count"] > 100
    assert result.metrics["roi_lower_95"] <= 0.0
    assert result.metrics["leakage_suspected"] == 0.0


def test_a_lagging_book_is_beaten() -> None:
    """Book line = stale averages: the model's past-only information is worth money."""
    result = run_backtest(_prepared(404, efficiency=0.0), _spec())
    assert result.metrics["wf_roi"] > 0.0
    assert result.metrics["roi_lower_95"] > 0.0
    assert result.metrics["leakage_suspected"] == 0.0


def test_a_book_with_over_and_under_swapped_is_set_aside(prepared: PreparedData) -> None:
    """The real scrape's failure: a book whose prices know the side (-200 / +170) but are swapped,
    so its +170 wins far more than it should. The price check must name it before the window
    (from what the season showed so far) and no bet may be placed there; without the check the
    same book would carry a huge false profit."""
    lines = prepared.lines.copy()
    book = sorted(lines["bookmaker"].astype(str).unique())[0]
    results = prepared.segments[["game_date", "player_id"]].assign(actual=prepared.y)
    at_book = (lines["bookmaker"].astype(str) == book) & (lines["market"] == "PTS")
    actual = lines.loc[at_book, ["game_date", "player_id"]].merge(
        results, on=["game_date", "player_id"], how="left"
    )["actual"]
    went_over = (actual.to_numpy() > lines.loc[at_book, "line"].to_numpy()) ^ (
        np.random.default_rng(0).random(int(at_book.sum())) < 0.3
    )
    # the honest price would be over -200 when the over is likely; the scrape swapped the sides
    lines.loc[at_book, "over_price"] = np.where(went_over, 170.0, -200.0)
    lines.loc[at_book, "under_price"] = np.where(went_over, -200.0, 170.0)
    result = run_backtest(replace(prepared, lines=lines), _spec())
    assert result.sanity is not None and result.sanity.set_aside == [book]
    assert result.metrics["books_set_aside"] == 1.0
    assert not (result.ledger.bets["bookmaker"].astype(str) == book).any()
    assert any(m.startswith(f"{book} (") and "anti-calibrated" in m for m in result.market_warnings)
    assert result.metrics["leakage_suspected"] == 0.0


def test_a_model_fed_the_result_is_flagged(prepared: PreparedData) -> None:
    """Add the actual points as a feature: the backtest must call it leakage."""
    features = prepared.features
    leaky_x = features.X.assign(ACTUAL_RESULT=np.asarray(features.y, dtype=float))
    leaky = replace(
        prepared,
        features=FeatureFrame(
            **{
                **{f: getattr(features, f) for f in features.__dataclass_fields__},
                "X": leaky_x,
                "feature_names": (*features.feature_names, "ACTUAL_RESULT"),
            }
        ),
    )
    honest = run_backtest(prepared, _spec())
    cheat = run_backtest(leaky, _spec())
    assert honest.metrics["leakage_suspected"] == 0.0
    assert cheat.metrics["leakage_suspected"] == 1.0
    assert cheat.warnings
