"""Join sportsbook lines to feature rows: one row per (player-game, book, snapshot) prop."""

from __future__ import annotations

import numpy as np
import pandas as pd


def props_for_rows(
    keys: pd.DataFrame, lines: pd.DataFrame, market: str, snapshot: str | None = "open"
) -> pd.DataFrame:
    """Lines of `market` matched to feature rows by (game_date, player_id).

    Returns the line columns plus `row`, the positional index of the matched feature row,
    so predictions can be looked up with ``pred[props.row]``. `snapshot=None` keeps both.
    """
    chosen = lines[lines["market"] == market]
    if snapshot is not None:
        chosen = chosen[chosen["snapshot"] == snapshot]
    rows = keys[["game_date", "player_id"]].assign(row=np.arange(len(keys)))
    merged = chosen.merge(rows, on=["game_date", "player_id"], how="inner")
    return merged.sort_values(["game_date", "player_id", "bookmaker"]).reset_index(drop=True)


def over_outcome(actual: np.ndarray, line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(went_over, is_push) for each prop: a push is a whole-number line hit exactly."""
    actual = np.asarray(actual, float)
    line = np.asarray(line, float)
    return actual > line, actual == line


def b2b_flags(keys: pd.DataFrame) -> np.ndarray:
    """True where the player also played the day before (a back-to-back), from past dates only."""
    order = keys.sort_values(["player_id", "game_date"])
    gap = order.groupby("player_id")["game_date"].diff().dt.days
    flags = (gap == 1).reindex(keys.index)
    return flags.fillna(False).to_numpy(dtype=bool)
