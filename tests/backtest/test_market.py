"""The consensus-line comparison and the windows without lines."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from nbaprops.backtest.market import consensus_metrics, empty_windows
from nbaprops.betting.calibration import IsotonicCalibrator, PlattCalibrator


def test_consensus_is_the_median_of_each_books_last_line() -> None:
    day = pd.Timestamp("2024-01-02")
    predictions = pd.DataFrame(
        {"game_date": [day, day], "player_id": [1, 2], "actual": [30.0, 10.0],
         "prediction": [25.0, 12.0], "baseline": [28.0, 11.0]}
    )  # fmt: skip
    props = pd.DataFrame(
        {
            "game_date": [day] * 3,
            "player_id": [1, 1, 1],
            "bookmaker": ["a", "b", "c"],
            "line": [20.5, 21.5, 40.5],
            "close_line": [22.5, np.nan, 24.5],
        }
    )
    metrics = consensus_metrics(predictions, props)
    # last lines 22.5, 21.5 (no close), 24.5 -> median 22.5; player 2 has no line
    assert metrics["lined_rows"] == 1
    assert metrics["consensus_line_mae"] == pytest.approx(7.5)
    assert metrics["wf_mae_lined"] == pytest.approx(5.0)
    assert metrics["baseline_mae_lined"] == pytest.approx(2.0)


def test_a_window_without_lines_is_named() -> None:
    full = SimpleNamespace(
        test_start=pd.Timestamp("2024-05-01"),
        test_end=pd.Timestamp("2024-05-30"),
        props=pd.DataFrame({"x": [1]}),
    )
    empty = SimpleNamespace(test_start=pd.Timestamp("2024-05-30"),
                            test_end=pd.Timestamp("2024-06-18"), props=pd.DataFrame())  # fmt: skip
    assert empty_windows([full, empty]) == [
        "no lines from 2024-05-30 to 2024-06-18: a window without bets"
    ]


@pytest.mark.parametrize("kind", [IsotonicCalibrator, PlattCalibrator])
def test_calibrators_score_no_props_as_no_probabilities(kind: type) -> None:
    rng = np.random.default_rng(0)
    p = rng.random(200)
    fitted = kind().fit(p, (rng.random(200) < p).astype(float))
    assert fitted.predict(np.empty(0)).shape == (0,)
