"""The live win rate counts decided bets only: a push is neither a win nor a loss."""

from __future__ import annotations

import pandas as pd
import pytest

from jobs.report.live import roi_of, win_rate_of


def _bets(*profits: float) -> pd.DataFrame:
    return pd.DataFrame({"made_for": ["2025-01-20"] * len(profits), "profit": list(profits)})


def test_pushes_are_left_out_of_the_win_rate_but_staked_in_the_roi() -> None:
    bets = _bets(0.909, 0.909, -1.0, 0.0)
    assert win_rate_of(bets) == pytest.approx(2 / 3)
    assert roi_of(bets) == pytest.approx((2 * 0.909 - 1.0) / 4)


def test_no_decided_bet_has_no_win_rate() -> None:
    assert win_rate_of(_bets()) is None
    assert win_rate_of(_bets(0.0, 0.0)) is None
