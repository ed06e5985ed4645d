"""Several quotes of one (date, player, market, book) become its opening and closing lines.

The opening line is the first quote by timestamp, the closing one the last quote before
tip-off (quotes at or after the commence time, when it is known, are dropped). A key quoted
once has only an opening line. The same rule merges a new import with what a folder holds, so
importing the same file twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

KEY = ["game_date", "player_id", "market", "bookmaker"]
QUOTE = ["line", "over_price", "under_price"]


@dataclass(frozen=True)
class Snapshots:
    """The opening/closing lines and what was dropped on the way."""

    lines: pd.DataFrame
    after_tipoff: int
    between: int
    conflicting: int


def open_close(quotes: pd.DataFrame) -> Snapshots:
    """Quotes (KEY, QUOTE, snapshot_ts, optional commence) -> lines with a snapshot column.

    Two different quotes of one key at the same timestamp conflict: the later row in the
    input wins and the conflict is counted.
    """
    frame = quotes.reset_index(drop=True).assign(_order=lambda f: range(len(f)))
    late = pd.Series(False, index=frame.index)
    if "commence" in frame.columns:
        late = frame["commence"].notna() & (frame["snapshot_ts"] >= frame["commence"])
    frame = frame.loc[~late].drop_duplicates([*KEY, *QUOTE, "snapshot_ts"], keep="last")
    same_time = frame.duplicated([*KEY, "snapshot_ts"], keep="last")
    conflicting = int((same_time & frame["snapshot_ts"].notna()).sum())
    frame = frame.loc[~same_time | frame["snapshot_ts"].isna()]
    frame = frame.sort_values([*KEY, "snapshot_ts", "_order"], kind="stable", na_position="last")
    first = frame.drop_duplicates(KEY, keep="first")
    last = frame.drop_duplicates(KEY, keep="last")
    last = last.loc[~last["_order"].isin(first["_order"])]
    lines = pd.concat([first.assign(snapshot="open"), last.assign(snapshot="close")])
    lines = lines.sort_values([*KEY, "snapshot"], kind="stable", ascending=[True] * 4 + [False])
    between = len(frame) - len(lines)
    return Snapshots(
        lines.drop(columns=["_order"]).reset_index(drop=True), int(late.sum()), between, conflicting
    )
