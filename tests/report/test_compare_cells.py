"""The compare table's empty cells say why instead of printing blank."""

from jobs.cli.lab import _explain_empty
from nbaprops.tracking.compare import COMPARE_METRICS


def test_missing_walk_forward_says_no_backtest_yet() -> None:
    """A run without a backtest reads 'no backtest yet'; present values are untouched."""
    row = {k: None for k in COMPARE_METRICS} | {"val_mae": 4.2, "phase": "phase1"}
    out = _explain_empty(row)
    assert out["val_mae"] == 4.2
    assert out["wf_roi"] == "no backtest yet"
    assert out["wf_win_rate"] == "no backtest yet"
    assert out["brier_score"] == "not logged"
    assert row["wf_roi"] is None
