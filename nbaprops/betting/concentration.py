"""Where a backtest's profit comes from: ROI by book and by price band, and edge concentration.

A real edge shows up across books and prices; a profit carried by one book or one price band is
more likely a data error in that book's prices (or a long-odds streak) than skill. The flag
`edge_concentration` is raised when the decided bets made money but lose it (or break even)
once the single most profitable book, or price band, is left out.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from nbaprops.betting.metrics import roi

#: American price bands: name -> [low, high) of the price taken.
PRICE_BANDS: dict[str, tuple[float, float]] = {
    "fav_heavy": (-float("inf"), -150.0),
    "fav": (-150.0, -100.0),
    "dog": (100.0, 150.0),
    "dog_long": (150.0, float("inf")),
}


def slug(name: str) -> str:
    """A metric-name-safe lower-case form of a book's name ('Bet Rivers' -> 'bet_rivers')."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "unknown"


def price_band(price: pd.Series) -> pd.Series:
    """The band of each American price (PRICE_BANDS; -100 counts as 'fav', +100 as 'dog')."""
    values = price.astype(float).to_numpy()
    out = np.full(values.size, "", dtype=object)
    for name, (low, high) in PRICE_BANDS.items():
        out[(values >= low) & (values < high)] = name
    out[values == -100.0] = "fav"
    return pd.Series(out, index=price.index, dtype=object)


def _decided(bets: pd.DataFrame) -> pd.DataFrame:
    return bets[bets["result"].isin(["win", "loss"])]


def concentration_metrics(bets: pd.DataFrame) -> dict[str, float]:
    """roi_book_<book>, bets_book_<book>, roi_band_<band>, the top book's share of the profit,
    and `edge_concentration` (1.0 when one book or one price band carries the whole profit)."""
    decided = _decided(bets)
    out: dict[str, float] = {"edge_concentration": 0.0}
    if decided.empty:
        return out
    total = float(decided["profit_flat"].sum())
    concentrated = False
    for column, key, prefix in (
        ("bookmaker", decided["bookmaker"].astype(str), "book"),
        ("band", price_band(decided["price"]), "band"),
    ):
        profit = decided["profit_flat"].groupby(key).sum()
        for name, part in decided.groupby(key):
            out[f"roi_{prefix}_{slug(str(name))}"] = roi(part["profit_flat"], part["stake_flat"])
            out[f"bets_{prefix}_{slug(str(name))}"] = float(len(part))
        if column == "bookmaker" and total > 0:
            out["edge_share_top_book"] = float(profit.max() / total)
        if total > 0 and len(profit) > 1 and total - float(profit.max()) <= 0:
            concentrated = True
    out["edge_concentration"] = float(concentrated)
    return out


def concentration_warnings(bets: pd.DataFrame) -> list[str]:
    """The sentence behind an `edge_concentration` flag (empty when the profit is spread)."""
    decided = _decided(bets)
    total = float(decided["profit_flat"].sum()) if len(decided) else 0.0
    if total <= 0:
        return []
    warnings = []
    for label, key in (
        ("book", decided["bookmaker"].astype(str)),
        ("price band", price_band(decided["price"])),
    ):
        profit = decided["profit_flat"].groupby(key).sum().sort_values()
        if len(profit) > 1 and total - float(profit.iloc[-1]) <= 0:
            name = str(profit.index[-1])
            warnings.append(
                f"edge concentrated in {label} {name}: it made {profit.iloc[-1]:.0f} of the "
                f"{total:.0f} profit; without it the bets lose {total - profit.iloc[-1]:.0f}"
            )
    return warnings
