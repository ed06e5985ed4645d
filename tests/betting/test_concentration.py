"""Edge concentration: a profit one book or one price band carries is flagged, a spread one not."""

from __future__ import annotations

import pandas as pd
import pytest

from nbaprops.betting.concentration import (
    concentration_metrics,
    concentration_warnings,
    price_band,
    slug,
)


def _bets(rows: list[tuple[str, float, str, float]]) -> pd.DataFrame:
    """(bookmaker, price, result, profit) per bet at a flat stake of 10."""
    frame = pd.DataFrame(rows, columns=["bookmaker", "price", "result", "profit_flat"])
    return frame.assign(stake_flat=10.0)


def test_one_book_carrying_the_profit_is_flagged_and_named() -> None:
    bets = _bets(
        [
            ("BetRivers", 160, "win", 16.0),
            ("BetRivers", 160, "win", 16.0),
            ("FanDuel", -110, "loss", -10.0),
            ("DraftKings", -110, "loss", -10.0),
            ("FanDuel", -110, "win", 9.09),
        ]
    )
    metrics = concentration_metrics(bets)
    assert metrics["edge_concentration"] == 1.0
    assert metrics["roi_book_betrivers"] == pytest.approx(1.6)
    assert metrics["bets_book_fanduel"] == 2.0
    assert metrics["edge_share_top_book"] == pytest.approx(32 / 21.09)
    (warning,) = concentration_warnings(bets)[:1]
    assert "book BetRivers" in warning


def test_a_profit_spread_over_books_and_prices_is_not_flagged() -> None:
    bets = _bets(
        [
            ("A", -110, "win", 9.09),
            ("A", 120, "win", 12.0),
            ("B", -110, "win", 9.09),
            ("B", 120, "win", 12.0),
            ("B", -110, "loss", -10.0),
            ("A", 120, "push", 0.0),
        ]
    )
    assert concentration_metrics(bets)["edge_concentration"] == 0.0
    assert concentration_warnings(bets) == []


def test_a_losing_backtest_has_no_concentrated_edge_and_bands_are_named() -> None:
    assert concentration_metrics(_bets([("A", 160, "loss", -10.0)]))["edge_concentration"] == 0.0
    bands = price_band(pd.Series([-200.0, -110.0, -100.0, 100.0, 149.0, 150.0]))
    assert list(bands) == ["fav_heavy", "fav", "fav", "dog", "dog", "dog_long"]
    assert slug("Bet Rivers (NJ)") == "bet_rivers_nj"
