"""The bet simulator on a hand-made slate whose bets, stakes and profits are worked out by hand.

Day 1
  P1 PTS 20.5, p_over 0.56: book A -110/-110 (over edge 0.0691), book B +100/-120 (over edge
     0.12). Line shopping takes B's over; 25 points: win.
  P2 PTS 10.5, p_over 0.52 at -110/-110: over edge -0.0073, under edge worse: no bet.
  P3 REB 8.0 (whole line), p_over 0.30, p_push 0.10, so p_under 0.60 at -110/-110: under edge
     0.6 x 0.9091 - 0.3 = 0.2455; 8 rebounds: push.
Day 2
  P1 PTS 21.5, p_over 0.535 at A -110/-110: over edge 0.0214 >= 2%; 20 points: loss.
  P2 PTS 11.5, p_over 0.534: over edge 0.0195 < 2%: no bet.
Kelly (1/4, cap 2%): day 1 sizes both bets from 1000: P1 f* 0.12 -> 0.03 -> capped 20;
P3 f* (conditional on no push, p 2/3) 0.30 -> capped 20. Day 1 ends at 1020. Day 2: f* 0.0235
-> 0.005875 x 1020 = 5.9925.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from nbaprops.betting.bets import PROPS_OPTIONAL, PROPS_REQUIRED, PropsFrameError, simulate_bets
from nbaprops.betting.ledger import LEDGER_COLUMNS, SUMMARY_KEYS

D1, D2 = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")
B = 10 / 11  # net payout at -110


def slate() -> pd.DataFrame:
    rows = [
        # date, player, market, book, line, over, under, p_over, actual, p_push, close line/prices
        (D1, 1, "PTS", "A", 20.5, -110, -110, 0.56, 25, 0.0, 20.5, -120, -100),
        (D1, 1, "PTS", "B", 20.5, +100, -120, 0.56, 25, 0.0, 20.5, -125, +105),
        (D1, 2, "PTS", "A", 10.5, -110, -110, 0.52, 12, 0.0, 10.5, -110, -110),
        (D1, 3, "REB", "A", 8.0, -110, -110, 0.30, 8, 0.10, 7.5, -105, -115),
        (D2, 1, "PTS", "A", 21.5, -110, -110, 0.535, 20, 0.0, np.nan, np.nan, np.nan),
        (D2, 2, "PTS", "A", 11.5, -110, -110, 0.534, 15, 0.0, 11.5, -110, -110),
    ]
    # The simulator's own column lists (less player_name, mapped in below), in their order.
    columns = [name for name in PROPS_REQUIRED if name != "player_name"] + list(PROPS_OPTIONAL)
    frame = pd.DataFrame(rows, columns=columns)
    frame["player_name"] = frame["player_id"].map({1: "Star", 2: "Bench", 3: "Big"})
    return frame


def test_known_bets_sides_books_and_results() -> None:
    bets = simulate_bets(slate()).bets
    assert list(bets.columns) == list(LEDGER_COLUMNS)
    picked = bets[["game_date", "player_id", "market", "bookmaker", "side", "result"]]
    assert picked.values.tolist() == [
        [D1, 1, "PTS", "B", "over", "win"],
        [D1, 3, "REB", "A", "under", "push"],
        [D2, 1, "PTS", "A", "over", "loss"],
    ]
    np.testing.assert_allclose(bets["edge"], [0.12, 0.6 * B - 0.3, 0.535 * B - 0.465], atol=1e-12)
    np.testing.assert_allclose(bets["p_model"], [0.56, 0.60, 0.535])
    np.testing.assert_allclose(bets["p_market"], [0.5 / (0.5 + 120 / 220), 0.5, 0.5])
    np.testing.assert_allclose(bets["profit_flat"], [10.0, 0.0, -10.0])
    assert bets["stake_flat"].tolist() == [10.0, 10.0, 10.0]


def test_kelly_stakes_are_capped_and_sized_from_the_start_of_day_bankroll() -> None:
    ledger = simulate_bets(slate())
    bets = ledger.bets
    day2_stake = 0.25 * ((0.535 * B - 0.465) / B) * 1020
    np.testing.assert_allclose(bets["stake_kelly"], [20.0, 20.0, day2_stake])
    np.testing.assert_allclose(bets["profit_kelly"], [20.0, 0.0, -day2_stake])
    np.testing.assert_allclose(bets["kelly_full"], [0.12, 0.3, (0.535 * B - 0.465) / B])
    np.testing.assert_allclose(ledger.equity_kelly, [1020.0, 1020.0 - day2_stake])
    np.testing.assert_allclose(ledger.equity_flat, [1010.0, 1000.0])
    assert list(ledger.equity_flat.index) == [D1, D2]


def test_daily_exposure_cap_scales_a_days_stakes_together() -> None:
    bets = simulate_bets(slate(), kelly_multiplier=1.0, kelly_cap=1.0, max_daily_exposure=0.2).bets
    day1 = bets[bets["game_date"] == D1]["stake_kelly"].to_numpy()
    # full Kelly would stake 120 and 300 of 1000; the 200 limit keeps their ratio
    np.testing.assert_allclose(day1, [200 * 120 / 420, 200 * 300 / 420])


def test_clv_price_only_on_unchanged_lines_and_line_clv_by_side() -> None:
    bets = simulate_bets(slate()).bets
    # P1 over at +100, close -125/+105 on the same line: (0.532468 - 0.5) / 0.5
    assert bets["clv_price"].iloc[0] == pytest.approx(0.064935, abs=1e-6)
    assert math.isnan(bets["clv_price"].iloc[1])  # REB line moved 8.0 -> 7.5
    assert bets["clv_line"].tolist()[:2] == [0.0, 0.5]  # under 8.0, closed 7.5: good
    assert math.isnan(bets["clv_line"].iloc[2])  # no closing snapshot


def test_line_shopping_off_uses_one_book() -> None:
    bets = simulate_bets(slate(), line_shopping=False).bets  # A quotes the most props
    first = bets.iloc[0]
    assert (first["bookmaker"], first["price"]) == ("A", -110.0)
    assert first["edge"] == pytest.approx(0.56 * B - 0.44)
    only_b = simulate_bets(slate(), line_shopping=False, bookmaker="B").bets
    assert only_b["bookmaker"].tolist() == ["B"]
    with pytest.raises(PropsFrameError, match="choose one of"):
        simulate_bets(slate(), line_shopping=False, bookmaker="Z")


def test_books_with_different_lines_compete_on_edge() -> None:
    props = slate().iloc[[0, 1]].copy()
    # book B hangs a lower line with its own, higher model probability
    props.loc[props["bookmaker"] == "B", ["line", "over_price", "p_over"]] = [19.5, -110, 0.62]
    bet = simulate_bets(props).bets.iloc[0]
    assert (bet["bookmaker"], bet["line"]) == ("B", 19.5)
    assert bet["edge"] == pytest.approx(0.62 * B - 0.38)


def test_threshold_filters_and_no_bets_give_nan_summary() -> None:
    assert len(simulate_bets(slate(), edge_threshold=0.05).bets) == 2
    loose = simulate_bets(slate(), edge_threshold=0.019).bets
    assert (2, D2) in set(zip(loose["player_id"], loose["game_date"], strict=True))
    empty = simulate_bets(slate(), edge_threshold=0.5)
    assert empty.bets.empty and list(empty.bets.columns) == list(LEDGER_COLUMNS)
    summary = empty.summary()
    assert summary["bet_count"] == 0
    assert math.isnan(summary["roi"]) and math.isnan(summary["win_rate"])


def test_summary_of_the_slate() -> None:
    ledger = simulate_bets(slate())
    summary = ledger.summary(seed=3)
    assert set(summary) == set(SUMMARY_KEYS)
    day2_stake = 0.25 * ((0.535 * B - 0.465) / B) * 1020
    expected = {
        "bet_count": 2,  # the push is counted apart
        "push_count": 1,
        "void_count": 0,
        "win_rate": 0.5,
        "roi": 0.0,
        "roi_kelly": (20 - day2_stake) / (20 + day2_stake),  # the push's stake came back
        "clv": 0.064935,
        "clv_line": 0.25,
        "max_drawdown": 10 / 1010,
        "max_drawdown_kelly": day2_stake / 1020,
        "kelly_criterion": (0.12 + 0.3 + (0.535 * B - 0.465) / B) / 3,
        "roi_edge_small": -1.0,
        "roi_edge_large": 1.0,  # the win; the push in this bucket staked nothing
        "win_rate_lower_95": 1 - 0.95**0.5,  # 1 of 2: Clopper-Pearson solves 1 - (1-L)^2 = 0.05
        # breakeven: mean implied probability of the decided bets' prices (+100, -110)
        "win_rate_p_value": 1 - (1 - (0.5 + 110 / 210) / 2) ** 2,
    }
    for key, value in expected.items():
        assert summary[key] == pytest.approx(value, abs=1e-6), key
    assert math.isnan(summary["roi_edge_medium"])
    assert pd.Series(summary).equals(pd.Series(ledger.summary(seed=3)))


def test_pushes_on_whole_lines_and_void_games_return_the_stake() -> None:
    props = slate().iloc[[3]].copy()
    props["actual"] = np.nan  # player sat out: the book voids the bet
    ledger = simulate_bets(props)
    bet = ledger.bets.iloc[0]
    assert (bet["result"], bet["profit_flat"], bet["profit_kelly"]) == ("void", 0.0, 0.0)
    summary = ledger.summary()
    assert (summary["bet_count"], summary["void_count"], summary["push_count"]) == (0, 1, 0)
    assert math.isnan(summary["roi"]) and math.isnan(summary["win_rate"])


def test_one_win_one_push_one_loss_at_minus_110_is_minus_4_55_percent() -> None:
    """The push is neither stake nor bet: ROI (10/11 - 1) / 2 = -4.55 %, not -3.03 % over 3."""
    rows = [
        (D1, 1, 20.5, 25.0),  # over wins
        (D1, 2, 8.0, 8.0),  # whole line hit exactly: push
        (D2, 3, 10.5, 9.0),  # over loses
    ]
    props = pd.DataFrame(rows, columns=["game_date", "player_id", "line", "actual"]).assign(
        player_name="p",
        market="PTS",
        bookmaker="A",
        over_price=-110,
        under_price=-110,
        p_over=0.6,
    )
    ledger = simulate_bets(props)
    assert list(ledger.bets["result"]) == ["win", "push", "loss"]
    summary = ledger.summary()
    assert summary["roi"] == pytest.approx((B - 1) / 2)
    assert round(100 * summary["roi"], 2) == -4.55
    assert (summary["bet_count"], summary["push_count"], summary["win_rate"]) == (2, 1, 0.5)


def test_bad_frames_say_what_is_expected() -> None:
    with pytest.raises(PropsFrameError, match=r"lacks \['p_over'\]"):
        simulate_bets(slate().drop(columns="p_over"))
    with pytest.raises(PropsFrameError, match="duplicate"):
        simulate_bets(pd.concat([slate(), slate().iloc[[0]]]))
    bad = slate()
    bad.loc[0, "p_over"] = 1.2
    with pytest.raises(PropsFrameError, match="not a probability split"):
        simulate_bets(bad)


def test_optional_columns_may_be_absent() -> None:
    props = slate().drop(columns=["p_push", "close_line", "close_over_price", "close_under_price"])
    bets = simulate_bets(props).bets
    assert len(bets) == 3
    assert bets["clv_price"].isna().all() and bets["clv_line"].isna().all()


@pytest.mark.parametrize("seed", range(5))
def test_kelly_cap_holds_on_random_slates(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 600
    props = pd.DataFrame(
        {
            "game_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 20, n), "D"),
            "player_id": np.arange(n),
            "player_name": "p",
            "market": "PTS",
            "bookmaker": rng.choice(["A", "B"], n),
            "line": 20.5,
            "over_price": rng.choice([-125.0, -110.0, 105.0], n),
            "under_price": -110.0,
            "p_over": rng.uniform(0.3, 0.7, n),
            "actual": rng.choice([15.0, 25.0], n),
        }
    )
    ledger = simulate_bets(props, kelly_multiplier=0.5, kelly_cap=0.015)
    start = np.concatenate([[1000.0], ledger.equity_kelly.to_numpy()[:-1]])
    start_of_day = pd.Series(start, index=ledger.equity_kelly.index)
    allowed = 0.015 * start_of_day.loc[ledger.bets["game_date"]].to_numpy()
    assert np.all(ledger.bets["stake_kelly"].to_numpy() <= allowed + 1e-9)
    assert (ledger.bets["edge"] >= 0.02).all()
    assert not ledger.bets.duplicated(["game_date", "player_id", "market"]).any()
