"""The record of a simulated betting season: every bet, two daily equity curves, and a summary.

Two bankrolls run side by side on the same bets: flat stakes (what ROI and the gates read) and
fractional Kelly (what compounding would have done). Pushes and voids return the stake: they are
counted apart (push_count, void_count) and left out of bet_count, stake, ROI and win rate, so
one win, one push and one loss at -110 is an ROI of -4.55 %, not -3.03 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from nbaprops.betting.metrics import max_drawdown, roi, sharpe_ratio, win_rate
from nbaprops.betting.odds import american_to_implied
from nbaprops.betting.uncertainty import (
    DEFAULT_N_BOOT,
    roi_lower_bound,
    win_rate_lower_bound,
    win_rate_p_value,
)

# The quote a bet is placed on: which player's prop on which day, at which book and line. The
# simulator's props frame starts with these columns and every ledger row carries them over.
QUOTE_COLUMNS: tuple[str, ...] = (
    "game_date",
    "player_id",
    "player_name",
    "market",
    "bookmaker",
    "line",
)
LEDGER_COLUMNS: tuple[str, ...] = (
    *QUOTE_COLUMNS,
    "side",
    "price",
    "p_model",
    "p_market",
    "edge",
    "stake_flat",
    "stake_kelly",
    "result",
    "profit_flat",
    "profit_kelly",
    "close_line",
    "clv_price",
    "clv_line",
    "kelly_full",
    "actual",
)
# Edge buckets of the summary: name -> [low, high) of the bet's expected value per unit staked.
EDGE_BUCKETS: dict[str, tuple[float, float]] = {
    "roi_edge_small": (0.02, 0.04),
    "roi_edge_medium": (0.04, 0.06),
    "roi_edge_large": (0.06, float("inf")),
}
SUMMARY_KEYS: tuple[str, ...] = (
    "bet_count",
    "push_count",
    "void_count",
    "win_rate",
    "roi",
    "roi_kelly",
    "clv",
    "clv_line",
    "max_drawdown",
    "max_drawdown_kelly",
    "sharpe_ratio",
    "sharpe_ratio_kelly",
    "kelly_criterion",
    "bankroll_growth_kelly",
    *EDGE_BUCKETS,
    "roi_lower_95",
    "win_rate_lower_95",
    "win_rate_p_value",
)
Bankroll = Literal["flat", "kelly"]


def _nanmean(values: pd.Series) -> float:
    finite = values.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(finite.mean()) if finite.size else float("nan")


@dataclass(frozen=True)
class BetLedger:
    """Bets taken (one row each, columns LEDGER_COLUMNS) and end-of-day equity of both bankrolls.

    `equity_flat` and `equity_kelly` are indexed by betting day; the curves start at `bankroll`
    the day before the first bet.
    """

    bets: pd.DataFrame
    equity_flat: pd.Series
    equity_kelly: pd.Series
    bankroll: float

    def equity_curve(self, kind: Bankroll = "flat") -> np.ndarray:
        """The equity curve of a bankroll with the starting bankroll prepended."""
        daily = self.equity_flat if kind == "flat" else self.equity_kelly
        return np.concatenate([[self.bankroll], daily.to_numpy(dtype=float)])

    def daily_returns(self, kind: Bankroll = "flat") -> pd.Series:
        """Each betting day's profit over the bankroll: the initial one for flat stakes (stakes do
        not compound), the start-of-day one for Kelly."""
        curve = self.equity_curve(kind)
        base = np.full(curve.size - 1, self.bankroll) if kind == "flat" else curve[:-1]
        daily = self.equity_flat if kind == "flat" else self.equity_kelly
        with np.errstate(divide="ignore", invalid="ignore"):
            returns = np.where(base > 0, np.diff(curve) / base, np.nan)
        return pd.Series(returns, index=daily.index)

    def summary(self, *, seed: int = 0, n_boot: int = DEFAULT_N_BOOT) -> dict[str, float]:
        """Headline figures of the simulation (keys SUMMARY_KEYS); NaN where undefined.

        ROI, win rate, drawdown, Sharpe and the bounds read the flat bankroll; the ROI bound is a
        seeded bootstrap over betting days, so the summary is deterministic. bet_count, ROI, win
        rate and the bounds count decided bets only; CLV and Kelly describe every bet placed
        (the price taken does not depend on the result).
        """
        everything = self.bets
        decided_mask = everything["result"].isin(["win", "loss"])
        bets = everything[decided_mask]
        wins = int((bets["result"] == "win").sum())
        n_decided = len(bets)
        breakeven = (
            float(np.mean(american_to_implied(bets["price"].to_numpy(dtype=float))))
            if n_decided
            else float("nan")
        )
        out: dict[str, float] = {
            "bet_count": float(n_decided),
            "push_count": float((everything["result"] == "push").sum()),
            "void_count": float((everything["result"] == "void").sum()),
            "win_rate": win_rate(bets["result"]),
            "roi": roi(bets["profit_flat"], bets["stake_flat"]),
            "roi_kelly": roi(bets["profit_kelly"], bets["stake_kelly"]),
            "clv": _nanmean(everything["clv_price"]),
            "clv_line": _nanmean(everything["clv_line"]),
            "max_drawdown": max_drawdown(self.equity_curve("flat")),
            "max_drawdown_kelly": max_drawdown(self.equity_curve("kelly")),
            "sharpe_ratio": sharpe_ratio(self.daily_returns("flat")),
            "sharpe_ratio_kelly": sharpe_ratio(self.daily_returns("kelly")),
            "kelly_criterion": _nanmean(everything["kelly_full"]),
            "bankroll_growth_kelly": float(self.equity_curve("kelly")[-1] / self.bankroll - 1.0),
        }
        for name, (low, high) in EDGE_BUCKETS.items():
            in_bucket = (bets["edge"] >= low) & (bets["edge"] < high)
            out[name] = roi(bets.loc[in_bucket, "profit_flat"], bets.loc[in_bucket, "stake_flat"])
        out["roi_lower_95"] = roi_lower_bound(
            bets["profit_flat"], bets["stake_flat"], bets["game_date"], n_boot=n_boot, seed=seed
        )
        out["win_rate_lower_95"] = win_rate_lower_bound(wins, n_decided)
        out["win_rate_p_value"] = (
            win_rate_p_value(wins, n_decided, breakeven) if n_decided else float("nan")
        )
        return out
