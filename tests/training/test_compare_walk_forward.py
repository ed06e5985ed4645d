"""`nbaprops compare` borrows a training run's walk-forward figures from the backtest that
replayed its recipe (`nbaprops backtest --run`), and from nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jobs.cli.main import cli
from nbaprops.data.feed import Feed
from nbaprops.data.writer import write_feed


def _invoke(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--json" in args else result


@pytest.fixture
def lab(small_feed: Feed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "feed"
    write_feed(small_feed, folder)
    monkeypatch.setenv("NBAPROPS_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("NBAPROPS_DATA", str(folder))
    for trees in ("20", "40"):  # two runs, so that "best" has a choice to make
        _invoke("train", "--phase", "foundation", "--model", "xgboost", "--feature-set", "core",
                "--params", f"n_estimators={trees}", "--params", "max_depth=3")  # fmt: skip


def _foundation_row() -> dict[str, Any]:
    rows = _invoke("compare", "--json")
    (row,) = [r for r in rows if r["phase"] == "Phase1_Foundation"]
    return dict(row)


def test_the_best_runs_backtest_fills_its_compare_row(lab: None) -> None:
    before = _foundation_row()
    assert before["wf_roi"] is None and before["wf_win_rate"] is None

    done = _invoke("backtest", "--run", "best", "--phase", "foundation", "--json")
    after = _foundation_row()
    assert after["run_id"] == before["run_id"]  # the training run's row, not the backtest's
    assert after["wf_roi"] == pytest.approx(done["metrics"]["wf_roi"])
    assert after["wf_win_rate"] == pytest.approx(done["metrics"]["wf_win_rate"])
    assert after["val_mae"] == before["val_mae"]


def test_a_backtest_with_overrides_is_an_experiment_not_the_runs_figures(lab: None) -> None:
    best = _foundation_row()["run_id"]
    _invoke("backtest", "--run", best, "--phase", "foundation", "--params", "max_depth=2", "--json")
    assert _foundation_row()["wf_roi"] is None


def test_an_unknown_run_is_refused_with_what_to_do(lab: None) -> None:
    result = CliRunner().invoke(
        cli, ["backtest", "--run", "0123456789abcdef", "--phase", "foundation"]
    )
    assert result.exit_code == 2, result.output
    assert "has no training recipe" in result.stderr
    assert "Traceback" not in result.output
