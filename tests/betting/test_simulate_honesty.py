"""Behaviour of the simulator on synthetic markets whose true probabilities are known.

An honest simulator shows no edge for a bettor who only matches an efficient market (he pays the
vig), and shows one for a model that knows more than a lagging market.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nbaprops.betting.bets import simulate_bets

OVERROUND = 2 * 110 / 210  # -110 each way on a 50/50 prop


def to_american(implied: np.ndarray) -> np.ndarray:
    """American price whose implied probability (vig included) is `implied`."""
    decimal = 1.0 / implied
    return np.where(decimal >= 2.0, (decimal - 1.0) * 100.0, -100.0 / (decimal - 1.0))


def market(
    seed: int,
    *,
    market_weight: float,
    model_noise: float = 0.0,
    overround: float = OVERROUND,
    days: int = 60,
    props_per_day: int = 40,
) -> pd.DataFrame:
    """Half-point props whose over hits with probability p_true.

    The book prices 0.5 + market_weight x (p_true - 0.5) with the given overround (weight 1: an
    efficient book; below 1: a book that lags the truth); the model says p_true plus noise.
    """
    rng = np.random.default_rng(seed)
    n = days * props_per_day
    p_true = rng.uniform(0.35, 0.65, n)
    p_book = 0.5 + market_weight * (p_true - 0.5)
    over = rng.random(n) < p_true
    return pd.DataFrame(
        {
            "game_date": np.repeat(pd.date_range("2024-11-01", periods=days), props_per_day),
            "player_id": np.tile(np.arange(props_per_day), days),
            "player_name": "p",
            "market": "PTS",
            "bookmaker": "A",
            "line": 21.5,
            "over_price": to_american(p_book * overround),
            "under_price": to_american((1 - p_book) * overround),
            "p_over": np.clip(p_true + rng.normal(0, model_noise, n), 0.01, 0.99),
            "actual": np.where(over, 25.0, 18.0),
        }
    )


SEEDS = range(20)


def test_matching_an_efficient_market_shows_no_edge() -> None:
    """p_model = truth = the book's vig-free probability: every bet is the vig, forced or not."""
    assert simulate_bets(market(0, market_weight=1.0)).bets.empty
    rois, bounds = [], []
    for seed in SEEDS:
        summary = simulate_bets(market(seed, market_weight=1.0), edge_threshold=-1.0).summary(
            seed=seed, n_boot=500
        )
        rois.append(summary["roi"])
        bounds.append(summary["roi_lower_95"])
    assert max(bounds) < 0
    assert np.mean(rois) == pytest.approx(1 / OVERROUND - 1, abs=0.015)


def test_a_noisy_model_finds_edges_but_no_lasting_profit() -> None:
    """Noise makes the model see 2%+ edges against an efficient book; the ROI bound stays < 0."""
    positive_bounds, rois, counts = 0, [], []
    for seed in SEEDS:
        ledger = simulate_bets(market(seed, market_weight=1.0, model_noise=0.06))
        summary = ledger.summary(seed=seed, n_boot=500)
        counts.append(summary["bet_count"])
        rois.append(summary["roi"])
        positive_bounds += summary["roi_lower_95"] > 0
        assert summary["win_rate_p_value"] > 0.05
    assert min(counts) > 300
    assert positive_bounds == 0
    assert np.mean(rois) < -0.02


def test_a_breakeven_bettor_at_fair_prices_rarely_clears_the_bound() -> None:
    """No vig, model = truth, forced to bet: true ROI 0; the 95% bound exceeds 0 about 5% of
    the time."""
    positive = 0
    for seed in range(40):
        props = market(seed, market_weight=1.0, overround=1.0)
        summary = simulate_bets(props, edge_threshold=-1.0).summary(seed=seed, n_boot=400)
        positive += summary["roi_lower_95"] > 0
    assert positive <= 5


def test_an_informative_model_beats_a_lagging_market() -> None:
    """The book moves only 30% of the way to the truth; the model knows the truth."""
    small, large = [], []
    for seed in range(5):
        ledger = simulate_bets(market(seed, market_weight=0.3))
        summary = ledger.summary(seed=seed, n_boot=500)
        assert summary["roi"] > 0.05
        assert summary["roi_lower_95"] > 0
        assert summary["win_rate_p_value"] < 0.01
        assert summary["bankroll_growth_kelly"] > 0
        assert pd.Series(summary).equals(pd.Series(ledger.summary(seed=seed, n_boot=500)))
        small.append(summary["roi_edge_small"])
        large.append(summary["roi_edge_large"])
    # bigger model edges pay more
    assert np.mean(large) > np.mean(small) + 0.03
