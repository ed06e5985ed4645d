"""American odds conversions, pinned to hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbaprops.betting.odds import (
    InvalidPriceError,
    american_to_decimal,
    american_to_implied,
    net_payout,
    vig_free_probabilities,
)


@pytest.mark.parametrize(
    ("price", "decimal", "implied", "payout"),
    [
        (-110, 1.9091, 0.5238, 0.9091),
        (+150, 2.5, 0.4, 1.5),
        (-200, 1.5, 0.6667, 0.5),
        (+100, 2.0, 0.5, 1.0),
        (-100, 2.0, 0.5, 1.0),
        (-250, 1.4, 0.7143, 0.4),
    ],
)
def test_conversions_match_hand_values(
    price: int, decimal: float, implied: float, payout: float
) -> None:
    assert american_to_decimal(price) == pytest.approx(decimal, abs=1e-4)
    assert american_to_implied(price) == pytest.approx(implied, abs=1e-4)
    assert net_payout(price) == pytest.approx(payout, abs=1e-4)
    assert isinstance(american_to_implied(price), float)


def test_arrays_and_series_keep_their_kind_and_nan_passes_through() -> None:
    arr = american_to_implied(np.array([-110.0, 150.0, np.nan]))
    assert isinstance(arr, np.ndarray)
    np.testing.assert_allclose(arr[:2], [0.5238095, 0.4], atol=1e-6)
    assert np.isnan(arr[2])
    series = net_payout(pd.Series([-110.0, 200.0], index=[7, 9]))
    assert isinstance(series, pd.Series)
    assert list(series.index) == [7, 9]
    assert series.loc[9] == pytest.approx(2.0)


@pytest.mark.parametrize("bad", [0, 50, -50, 99.5, -99.5, 1.91])
def test_impossible_prices_are_rejected_naming_the_value(bad: float) -> None:
    with pytest.raises(InvalidPriceError, match=f"price {bad:g} is not valid"):
        american_to_decimal(bad)
    with pytest.raises(InvalidPriceError, match=f"{bad:g}"):
        american_to_implied(np.array([-110.0, bad]))


@pytest.mark.parametrize(
    ("over", "under", "p_over"),
    [
        (-110, -110, 0.5),
        (-120, +100, 0.545455 / 1.045455),
        (-130, +110, 0.542744),
        (+150, -180, 0.4 / (0.4 + 180 / 280)),
    ],
)
def test_vig_free_probabilities_normalise_proportionally(
    over: int, under: int, p_over: float
) -> None:
    fair_over, fair_under = vig_free_probabilities(over, under)
    assert fair_over == pytest.approx(p_over, abs=1e-5)
    assert fair_under == pytest.approx(1 - p_over, abs=1e-5)


american = st.one_of(st.floats(-2000, -100), st.floats(100, 2000))


@given(over=american, under=american)
def test_vig_free_pair_sums_to_one_and_favours_the_shorter_price(over: float, under: float) -> None:
    fair_over, fair_under = vig_free_probabilities(over, under)
    assert fair_over + fair_under == pytest.approx(1.0)
    assert 0 < fair_over < 1
    if american_to_implied(over) > american_to_implied(under):
        assert fair_over > 0.5


@given(price=american)
def test_implied_times_decimal_is_one(price: float) -> None:
    assert american_to_implied(price) * american_to_decimal(price) == pytest.approx(1.0)
    assert net_payout(price) == pytest.approx(american_to_decimal(price) - 1.0)
