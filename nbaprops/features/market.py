"""Market-aware features: what the books' opening lines say before the game.

The opening line is posted before tip-off and a bet is placed at it, so it is pre-game
information; the closing line is never read here (it is later than the bet). Per player-game,
over the books quoting the target's market:
- MKT_LINE_OPEN: the median opening line (the consensus);
- MKT_P_OVER: the median vig-free implied P(over) of the opening prices;
- MKT_BOOKS: how many books quote it;
- MKT_GAP_FORM: the player's form (EWMA of the last 15 games) minus the consensus line.
Rows without a line keep NaN (the tree models route missing values); MKT_BOOKS is 0 there.
Line movement is not a feature: bets are priced at the opening snapshot, so no later movement
is known when the bet is made.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MARKET_FEATURES: tuple[str, ...] = ("MKT_LINE_OPEN", "MKT_P_OVER", "MKT_BOOKS", "MKT_GAP_FORM")
MARKET_TIER = "market"


def implied(price: pd.Series) -> pd.Series:
    """Implied probability of American odds (vig included)."""
    p = price.astype(float)
    return pd.Series(np.where(p > 0, 100.0 / (p + 100.0), -p / (-p + 100.0)), index=price.index)


def market_features(
    keys: pd.DataFrame, form: np.ndarray, lines: pd.DataFrame, market: str
) -> pd.DataFrame:
    """The four market features of each row of `keys` (game_date, player_id), row-aligned."""
    opening = lines[(lines["market"] == market) & (lines["snapshot"] == "open")]
    per_book = opening.drop_duplicates(["game_date", "player_id", "bookmaker"], keep="last")
    over, under = implied(per_book["over_price"]), implied(per_book["under_price"])
    per_book = per_book.assign(p_over=(over / (over + under)).to_numpy())
    consensus = per_book.groupby(["game_date", "player_id"], as_index=False).agg(
        MKT_LINE_OPEN=("line", "median"),
        MKT_P_OVER=("p_over", "median"),
        MKT_BOOKS=("bookmaker", "nunique"),
    )
    rows = pd.DataFrame(
        {"game_date": pd.to_datetime(keys["game_date"]).dt.normalize().to_numpy(),
         "player_id": keys["player_id"].to_numpy()}
    )  # fmt: skip
    consensus["game_date"] = pd.to_datetime(consensus["game_date"]).dt.normalize()
    joined = rows.merge(consensus, on=["game_date", "player_id"], how="left")
    out = pd.DataFrame(index=keys.index)
    out["MKT_LINE_OPEN"] = joined["MKT_LINE_OPEN"].to_numpy(dtype=float)
    out["MKT_P_OVER"] = joined["MKT_P_OVER"].to_numpy(dtype=float)
    out["MKT_BOOKS"] = joined["MKT_BOOKS"].fillna(0).to_numpy(dtype=float)
    out["MKT_GAP_FORM"] = np.asarray(form, dtype=float) - out["MKT_LINE_OPEN"].to_numpy()
    return out
