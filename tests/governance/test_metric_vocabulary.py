"""Every metric the system logs is one the policy knows, so a policy can name it or is told why not.

The logged names come from real runs in temporary stores (a training run, a walk-forward
backtest with its fold runs) and from the literal keys of every `log_metric(s)` call in the
code, so a metric added anywhere without a place in `governance.policy` fails here.
"""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from mlflow import MlflowClient

from governance.policy import is_known_metric
from nbaprops.backtest.tracked import run_tracked_backtest
from nbaprops.data.feed import Feed
from nbaprops.settings import Settings
from nbaprops.tracking.setup import init_tracking
from nbaprops.training.prepare import prepare
from tests.governance.conftest import TrainedStore
from tests.support.backtests import QUICK_SPEC, production_experiment_id

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("nbaprops", "governance", "jobs")


def _summary_metrics(client: MlflowClient, experiment_ids: list[str]) -> set[str]:
    """The single-value metrics of every run; a stepped metric is a per-iteration curve."""
    names: set[str] = set()
    for run in client.search_runs(experiment_ids):
        for name in run.data.metrics:
            if len(client.get_metric_history(run.info.run_id, name)) == 1:
                names.add(name)
    return names


def _literal_keys(first: ast.expr | None) -> set[str]:
    """A string constant, or the string keys of a dict literal."""
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return {first.value}
    if isinstance(first, ast.Dict):
        return {
            k.value for k in first.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)
        }
    return set()


def logged_literal_names(root: Path) -> set[str]:
    """The string keys written out in `log_metric("x", ...)`, `log_metrics({"x": ...})` and
    `log_run_batch(..., metrics={"x": ...})` calls."""
    names: set[str] = set()
    for layer in LAYERS:
        for path in sorted((root / layer).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in ("log_metric", "log_metrics") and node.args:
                    names |= _literal_keys(node.args[0])
                if called == "log_run_batch":
                    metrics = [k.value for k in node.keywords if k.arg == "metrics"]
                    names |= _literal_keys(metrics[0] if metrics else None)
    return names


def test_the_code_scan_finds_the_drift_checks_metrics() -> None:
    names = logged_literal_names(ROOT)
    assert {"psi_max", "live_mae", "fold_mae", "n_estimators"} <= names


def test_every_metric_named_in_the_code_is_known() -> None:
    unknown = sorted(name for name in logged_literal_names(ROOT) if not is_known_metric(name))
    assert unknown == []


def test_every_metric_of_a_training_run_is_known(trained_store: TrainedStore) -> None:
    client = MlflowClient(f"sqlite:///{trained_store.home / 'mlflow.db'}")
    names = _summary_metrics(client, [trained_store.experiment_id])
    assert "val_mae" in names
    assert sorted(name for name in names if not is_known_metric(name)) == []


@pytest.mark.slow
def test_every_metric_of_a_backtest_and_its_folds_is_known(
    settings: Settings, small_feed: Feed
) -> None:
    client = init_tracking(settings)
    experiment_id = production_experiment_id(client)
    data = prepare(small_feed, "PTS", "full")
    run_tracked_backtest(data, QUICK_SPEC, experiment_id, dt.date(2025, 1, 13), client=client)
    names = _summary_metrics(client, [experiment_id])
    assert {"wf_roi", "fold_mae"} <= names
    assert sorted(name for name in names if not is_known_metric(name)) == []
