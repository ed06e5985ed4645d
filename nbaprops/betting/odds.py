"""American odds: conversion to decimal odds, breakeven probability, net payout and vig removal.

Every function takes a scalar, a numpy array or a pandas Series and returns the same kind, so the
simulator can work on whole columns. Missing prices (NaN) pass through as NaN.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import pandas as pd

Prices = TypeVar("Prices", float, np.ndarray, pd.Series)
ArrayLike = float | np.ndarray | pd.Series


class InvalidPriceError(ValueError):
    """An American price of 0 or strictly between -100 and +100, which no book quotes."""


def _as_prices(prices: Any) -> np.ndarray:
    """Float array of American prices; raise InvalidPriceError on the first impossible one."""
    values = np.asarray(prices, dtype=float)
    bad = (values == 0) | ((values > -100) & (values < 100))
    if np.any(bad):
        first = values[bad].flat[0]
        raise InvalidPriceError(
            f"American price {first:g} is not valid: prices are <= -100 or >= +100 "
            "(e.g. -110, +120); check that the price column holds American odds, "
            "not decimal odds or probabilities"
        )
    return values


def _like(template: Any, result: np.ndarray) -> Any:
    """Wrap `result` as the kind of `template`: float, Series (same index) or array."""
    if isinstance(template, pd.Series):
        return pd.Series(result, index=template.index)
    if np.ndim(template) == 0:
        return float(result)
    return result


def american_to_decimal(price: Prices) -> Prices:
    """Decimal odds (stake included) of an American price: -110 -> 1.9091, +150 -> 2.5."""
    values = _as_prices(price)
    decimal = np.where(values > 0, 1.0 + values / 100.0, 1.0 + 100.0 / np.abs(values))
    return _like(price, decimal)


def net_payout(price: Prices) -> Prices:
    """Net profit per unit staked on a win, the Kelly `b`: -110 -> 0.9091, +150 -> 1.5."""
    decimal = np.asarray(american_to_decimal(_as_prices(price)), dtype=float)
    return _like(price, decimal - 1.0)


def american_to_implied(price: Prices) -> Prices:
    """Breakeven win probability of a price, vig included: -110 -> 0.5238, +150 -> 0.4."""
    decimal = np.asarray(american_to_decimal(_as_prices(price)), dtype=float)
    return _like(price, 1.0 / decimal)


def vig_free_probabilities(over_price: Prices, under_price: Prices) -> tuple[Prices, Prices]:
    """Market probabilities of over and under with the vig removed by proportional scaling.

    Each side's implied probability is divided by their sum (the overround), so the pair sums to 1.
    """
    p_over = np.asarray(american_to_implied(_as_prices(over_price)), dtype=float)
    p_under = np.asarray(american_to_implied(_as_prices(under_price)), dtype=float)
    total = p_over + p_under
    return _like(over_price, p_over / total), _like(under_price, p_under / total)
