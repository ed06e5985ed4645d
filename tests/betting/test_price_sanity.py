"""Price sanity on a hand-made market: three honest books and one whose over and under are swapped.

Each prop's true P(over) is known (Poisson results around a player mean, lines at the mean +/-
a random half point), honest books price it with 4.5 % vig, the bad book quotes the same line
with its over and under prices exchanged, as a scraping error would.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nbaprops.betting.price_sanity import (
    PriceSanityError,
    screen_props,
    two_way_problems,
)


def _american(p: np.ndarray) -> np.ndarray:
    """American price of implied probability p (vig included)."""
    return np.where(p >= 0.5, -100 * p / (1 - p), 100 * (1 - p) / p)


def market(days: int = 60, players: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2024-01-01")
    for d in range(days):
        mu = rng.uniform(8, 30, players)
        line = np.round(mu + rng.uniform(-3, 3, players)) + 0.5
        p_true = 1 - stats.poisson.cdf(np.floor(line), mu)
        actual = rng.poisson(mu).astype(float)
        for book in ("A", "B", "C", "Swapped"):
            over = _american(np.clip(p_true * 1.045, 0.02, 0.98))
            under = _american(np.clip((1 - p_true) * 1.045, 0.02, 0.98))
            if book == "Swapped":
                over, under = under, over
            rows.append(
                pd.DataFrame(
                    {
                        "game_date": start + pd.Timedelta(days=d),
                        "player_id": np.arange(players),
                        "market": "PTS",
                        "bookmaker": book,
                        "line": line,
                        "over_price": np.round(over),
                        "under_price": np.round(under),
                        "actual": actual,
                        "season": "2023-24",
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def test_a_swapped_book_is_found_set_aside_and_named_with_evidence() -> None:
    history = market()
    bets = history[history["game_date"] >= pd.Timestamp("2024-02-01")]
    sanity = screen_props(bets, history)
    assert sanity.set_aside == ["Swapped"]
    (row,) = sanity.books[sanity.books["bookmaker"] == "Swapped"].itertuples()
    assert row.calibration_z < -4 and row.consensus_disagreement > 0.9
    assert "anti-calibrated" in row.reason and "consensus" in row.reason
    assert "Swapped (2023-24) set aside from" in sanity.messages()[0]
    assert set(sanity.kept["bookmaker"]) == {"A", "B", "C"}
    assert len(sanity.kept) == 3 * len(bets) // 4
    assert (sanity.refused["bookmaker"] == "Swapped").all()


def test_the_check_is_past_only() -> None:
    """Day one of a season has no past: even the swapped book is not judged yet, and changing
    results on or after a day never changes the verdict for that day."""
    history = market(days=30)
    first = history[history["game_date"] == history["game_date"].min()]
    assert screen_props(first, history).set_aside == []
    cutoff = pd.Timestamp("2024-01-20")
    scrambled = history.copy()
    later = scrambled["game_date"] >= cutoff
    scrambled.loc[later, "actual"] = 0.0
    day = history[history["game_date"] == cutoff]
    a, b = screen_props(day, history), screen_props(day, scrambled)
    pd.testing.assert_frame_equal(a.books, b.books)
    pd.testing.assert_frame_equal(a.kept, b.kept)


def test_honest_books_are_never_set_aside() -> None:
    history = market(seed=3)
    honest = history[history["bookmaker"] != "Swapped"]
    sanity = screen_props(honest, honest)
    assert sanity.set_aside == [] and sanity.refused.empty


def test_impossible_two_way_prices_are_refused() -> None:
    history = market(days=3)
    history = history[history["bookmaker"] != "Swapped"]
    props = history[history["game_date"] == history["game_date"].max()].copy()
    first = props.index[0]
    props.loc[first, ["over_price", "under_price"]] = [+120, +110]  # sums below 1
    stale = props.index[(props["bookmaker"] == "A").to_numpy()][1]
    props.loc[stale, ["line", "over_price", "under_price"]] = [
        props.loc[stale, "line"] + 8,
        -110,
        -110,
    ]
    reasons = two_way_problems(props)
    assert "negative overround" in reasons[first]
    assert "far from every other book" in reasons[stale]
    assert (reasons.drop([first, stale]) == "").all()
    sanity = screen_props(props, history)
    assert len(sanity.refused) == 2


def test_a_history_without_results_says_what_it_needs() -> None:
    with pytest.raises(PriceSanityError, match=r"lacks \['actual'\]"):
        screen_props(market(days=1), market(days=1).drop(columns="actual"))


def test_a_book_whose_leans_carry_no_information_is_set_aside_as_uncalibrated() -> None:
    """Prices that lean hard at random (0.35 to 0.65, slope ~0) are as false as swapped ones:
    betting against them finds edges that are not there."""
    history = market(days=60, seed=5)
    history = history[history["bookmaker"] != "Swapped"].copy()
    rng = np.random.default_rng(9)
    noisy = history["bookmaker"] == "C"
    lean = rng.uniform(0.35, 0.65, int(noisy.sum()))
    history.loc[noisy, "over_price"] = np.round(_american(lean * 1.045))
    history.loc[noisy, "under_price"] = np.round(_american((1 - lean) * 1.045))
    sanity = screen_props(history, history)
    assert sanity.set_aside == ["C"]
    (row,) = sanity.books[sanity.books["bookmaker"] == "C"].itertuples()
    assert abs(row.calibration_slope) < 0.5 and row.calibration_z <= -4
    assert "calibrated over" in row.reason
