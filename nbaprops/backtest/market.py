"""What the market already knows: the model's MAE beside the books' consensus line's MAE.

On the player-games that have a line, the consensus is the median over books of each book's
last line (its closing line, else its opening one). A model whose MAE does not beat that
number has no information the market lacks, whatever its MAE against a rolling baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def consensus_metrics(predictions: pd.DataFrame, props: pd.DataFrame) -> dict[str, float]:
    """wf_mae_lined, consensus_line_mae, baseline_mae_lined (the 10-game average) and
    lined_rows, all on the same player-games."""
    if props.empty:
        return {"lined_rows": 0.0}
    last = props["close_line"] if "close_line" in props else props["line"]
    books = props.assign(last_line=last.fillna(props["line"]))
    books = books.drop_duplicates(["game_date", "player_id", "bookmaker"], keep="last")
    consensus = books.groupby(["game_date", "player_id"], as_index=False)["last_line"].median()
    rows = predictions[["game_date", "player_id", "actual", "prediction", "baseline"]].merge(
        consensus, on=["game_date", "player_id"], how="inner"
    )
    actual = rows["actual"].to_numpy(dtype=float)
    return {
        "lined_rows": float(len(rows)),
        "wf_mae_lined": float(np.mean(np.abs(actual - rows["prediction"].to_numpy(float)))),
        "consensus_line_mae": float(np.mean(np.abs(actual - rows["last_line"].to_numpy(float)))),
        "baseline_mae_lined": float(np.nanmean(np.abs(actual - rows["baseline"].to_numpy(float)))),
    }


def empty_windows(results: Sequence[Any]) -> list[str]:
    """One note per fold whose test window had no lines, so nothing to bet."""
    return [
        f"no lines from {r.test_start.date()} to {r.test_end.date()}: a window without bets"
        for r in sorted(results, key=lambda r: r.test_start)
        if r.props.empty
    ]
