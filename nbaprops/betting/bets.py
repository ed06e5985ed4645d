"""The bet simulator: pick, size and settle bets from model probabilities and sportsbook prices.

Edge is the expected value per unit staked at the price taken, pushes included:
    edge = p_win * b - p_loss        (b = net payout; with no push this is p_win * decimal - 1)
A bet is placed on the side with the largest edge for each player-market-date, if that edge is at
least `edge_threshold`. Stakes come from two bankrolls side by side: flat, and fractional Kelly
sized from the bankroll at the start of each day (all bets of a day are placed before any settles).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from nbaprops.betting.ledger import LEDGER_COLUMNS, QUOTE_COLUMNS, BetLedger
from nbaprops.betting.metrics import closing_line_value, kelly_fraction, line_clv
from nbaprops.betting.odds import net_payout, vig_free_probabilities

PROPS_REQUIRED: tuple[str, ...] = (*QUOTE_COLUMNS, "over_price", "under_price", "p_over", "actual")
PROPS_OPTIONAL: tuple[str, ...] = ("p_push", "close_line", "close_over_price", "close_under_price")
PROP_KEY: list[str] = ["game_date", "player_id", "market"]

__all__ = ["PROPS_OPTIONAL", "PROPS_REQUIRED", "BetLedger", "PropsFrameError", "simulate_bets"]


class PropsFrameError(ValueError):
    """A props frame the simulator cannot read."""


def _validated(props: pd.DataFrame) -> pd.DataFrame:
    """A copy of `props` with every optional column present (NaN, or 0 for p_push)."""
    missing = [c for c in PROPS_REQUIRED if c not in props.columns]
    if missing:
        raise PropsFrameError(
            f"props frame lacks {missing}; expected one row per (game_date, player_id, market, "
            f"bookmaker) with columns {list(PROPS_REQUIRED)} and optionally {list(PROPS_OPTIONAL)}"
        )
    frame = props.copy()
    for column in PROPS_OPTIONAL:
        if column not in frame.columns:
            frame[column] = np.nan
    frame["p_push"] = frame["p_push"].astype(float).fillna(0.0)
    p_over = frame["p_over"].astype(float)
    bad = (
        (p_over < 0) | (p_over > 1) | (frame["p_push"] < 0) | (p_over + frame["p_push"] > 1 + 1e-9)
    )
    if bad.any():
        row = frame.loc[bad].iloc[0]
        raise PropsFrameError(
            f"p_over={row['p_over']} with p_push={row['p_push']} for player {row['player_id']} on "
            f"{row['game_date']} is not a probability split; pass calibrated P(over) in [0, 1]"
        )
    if frame.duplicated([*PROP_KEY, "bookmaker"]).any():
        raise PropsFrameError(
            "props frame has duplicate (game_date, player_id, market, bookmaker) rows; keep one "
            "snapshot per book (the opening price) and put the closing one in close_* columns"
        )
    return frame


def _side_candidates(frame: pd.DataFrame, side: str) -> pd.DataFrame:
    """Every book's offer on one side, with the model's edge and Kelly fraction there."""
    own, other = ("over_price", "under_price") if side == "over" else ("under_price", "over_price")
    p_over = frame["p_over"].astype(float)
    p_push = frame["p_push"]
    p_win = p_over if side == "over" else 1.0 - p_over - p_push
    p_loss = 1.0 - p_win - p_push
    p_market, _ = vig_free_probabilities(frame[own].astype(float), frame[other].astype(float))
    b = net_payout(frame[own].astype(float))
    close_own = "close_over_price" if side == "over" else "close_under_price"
    close_other = "close_under_price" if side == "over" else "close_over_price"
    decided = (p_win + p_loss).where(lambda s: s > 0)
    return pd.DataFrame(
        {
            **{c: frame[c] for c in (*PROP_KEY, "player_name", "bookmaker", "line", "actual")},
            "side": side,
            "price": frame[own].astype(float),
            "p_model": p_win,
            "p_market": p_market,
            "edge": p_win * b - p_loss,
            "kelly_full": kelly_fraction(p_win / decided, b),
            "b": b,
            "close_line": frame["close_line"].astype(float),
            "close_price": frame[close_own].astype(float),
            "close_other_price": frame[close_other].astype(float),
        }
    )


def _default_book(frame: pd.DataFrame) -> str:
    """The book quoting the most props (ties: first by name): the bettor's one account."""
    counts = frame["bookmaker"].value_counts()
    top = counts[counts == counts.max()].index
    return str(sorted(top.astype(str))[0])


def _best_offers(
    frame: pd.DataFrame, edge_threshold: float, line_shopping: bool, bookmaker: str | None
) -> pd.DataFrame:
    """At most one bet per player-market-date: the largest edge among the books considered."""
    if not line_shopping:
        book = bookmaker if bookmaker is not None else _default_book(frame)
        at_book = frame["bookmaker"].astype(str) == book
        if not at_book.any() and len(frame):
            books = sorted(frame["bookmaker"].astype(str).unique())
            raise PropsFrameError(f"bookmaker {book!r} quotes no props here; choose one of {books}")
        frame = frame[at_book]
    offers = pd.concat([_side_candidates(frame, "over"), _side_candidates(frame, "under")])
    offers = offers[np.isfinite(offers["edge"].to_numpy(dtype=float))]
    offers = offers.sort_values(
        [*PROP_KEY, "edge", "bookmaker", "side"],
        ascending=[True, True, True, False, True, True],
        kind="mergesort",
    )
    best = offers.drop_duplicates(PROP_KEY, keep="first")
    return best[best["edge"] >= edge_threshold].reset_index(drop=True)


def _settle(bets: pd.DataFrame) -> np.ndarray:
    """'win', 'loss', 'push' (a whole line hit exactly) or 'void' (no result: the player sat out)
    of each bet; books return the stake of pushes and voids, so both are kept apart from the
    decided bets in every summary."""
    actual = bets["actual"].to_numpy(dtype=float)
    line = bets["line"].to_numpy(dtype=float)
    over = bets["side"].to_numpy() == "over"
    won = np.where(over, actual > line, actual < line)
    settled = np.where(actual == line, "push", np.where(won, "win", "loss"))
    return np.where(np.isnan(actual), "void", settled)


def _profit(stake: np.ndarray, b: np.ndarray, result: np.ndarray) -> np.ndarray:
    return np.where(result == "win", stake * b, np.where(result == "loss", -stake, 0.0))


def _kelly_stakes(
    fraction: np.ndarray,
    b: np.ndarray,
    result: np.ndarray,
    day_bounds: list[int],
    bankroll: float,
    max_daily_exposure: float,
) -> np.ndarray:
    """Kelly stakes of bets sorted by day: each day's bets are sized from the bankroll at the
    start of that day, scaled down together if their sum passes `max_daily_exposure` of it."""
    stakes = np.zeros(fraction.size)
    equity = float(bankroll)
    for lo, hi in itertools.pairwise(day_bounds):
        day = fraction[lo:hi] * max(equity, 0.0)
        limit = max_daily_exposure * equity
        if day.sum() > limit > 0:
            day *= limit / day.sum()
        stakes[lo:hi] = day
        equity += float(_profit(day, b[lo:hi], result[lo:hi]).sum())
    return stakes


def simulate_bets(
    props: pd.DataFrame,
    *,
    edge_threshold: float = 0.02,
    kelly_multiplier: float = 0.25,
    kelly_cap: float = 0.02,
    bankroll: float = 1000.0,
    flat_stake: float = 10.0,
    line_shopping: bool = True,
    bookmaker: str | None = None,
    max_daily_exposure: float = 1.0,
) -> BetLedger:
    """Bet, settle and track both bankrolls over a props frame (columns PROPS_REQUIRED).

    Prices are those available when betting (the opening snapshot); close_* columns only feed
    CLV. With `line_shopping` every book's offer competes (each at its own line and model
    probability); without it only `bookmaker` (default: the book quoting most props) is used.
    A Kelly stake is min(kelly_multiplier * f*, kelly_cap) of the start-of-day bankroll, and a
    day's Kelly stakes are scaled down together if they exceed `max_daily_exposure` of it.
    Price CLV is NaN when the book's closing line differs from the bet line (the closing prices
    then price another proposition); line CLV covers that case.
    """
    if bankroll <= 0 or flat_stake <= 0:
        raise ValueError("bankroll and flat_stake must be positive amounts of money")
    if not 0 < kelly_cap <= 1 or kelly_multiplier < 0 or max_daily_exposure <= 0:
        raise ValueError(
            "need 0 < kelly_cap <= 1, kelly_multiplier >= 0 and max_daily_exposure > 0 "
            "(e.g. kelly_multiplier=0.25, kelly_cap=0.02)"
        )
    bets = _best_offers(_validated(props), edge_threshold, line_shopping, bookmaker)
    bets = bets.sort_values([*PROP_KEY, "bookmaker"], kind="mergesort").reset_index(drop=True)

    result = _settle(bets)
    b = bets["b"].to_numpy(dtype=float)
    stake_flat = np.full(len(bets), float(flat_stake))
    profit_flat = _profit(stake_flat, b, result)
    fraction = np.clip(kelly_multiplier * bets["kelly_full"].to_numpy(dtype=float), 0.0, kelly_cap)
    fraction = np.nan_to_num(fraction, nan=0.0)

    days, starts = np.unique(bets["game_date"].to_numpy(), return_index=True)
    day_bounds = [*starts.tolist(), len(bets)]
    stake_kelly = _kelly_stakes(fraction, b, result, day_bounds, bankroll, max_daily_exposure)
    profit_kelly = _profit(stake_kelly, b, result)
    end_of_day = np.array(day_bounds[1:], dtype=int) - 1
    equity_flat = bankroll + np.cumsum(profit_flat)[end_of_day]
    equity_kelly = bankroll + np.cumsum(profit_kelly)[end_of_day]

    close_line = bets["close_line"].to_numpy(dtype=float)
    same_line = close_line == bets["line"].to_numpy(dtype=float)
    clv_price = np.where(
        same_line,
        closing_line_value(
            bets["price"].to_numpy(dtype=float),
            bets["close_price"].to_numpy(dtype=float),
            bets["close_other_price"].to_numpy(dtype=float),
        ),
        np.nan,
    )
    ledger = bets.assign(
        stake_flat=stake_flat,
        stake_kelly=stake_kelly,
        result=result,
        profit_flat=profit_flat,
        profit_kelly=profit_kelly,
        clv_price=clv_price,
        clv_line=line_clv(bets["line"].to_numpy(dtype=float), close_line, bets["side"]),
    )[list(LEDGER_COLUMNS)]
    index = pd.Index(days, name="game_date")
    return BetLedger(
        bets=ledger,
        equity_flat=pd.Series(equity_flat, index=index, dtype=float, name="equity_flat"),
        equity_kelly=pd.Series(equity_kelly, index=index, dtype=float, name="equity_kelly"),
        bankroll=float(bankroll),
    )
