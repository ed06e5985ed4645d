"""From a point prediction to P(over line): a normal or a negative-binomial count distribution.

A box-score stat Y is a whole number, so "over L" means Y >= floor(L) + 1 and, for a whole-number
line, Y == L is a push (the stake comes back). The normal version applies a continuity correction;
its spread sigma comes from out-of-sample residuals and depends on the player's tier, because a
25-ppg star scatters far more than a 6-ppg bench player.

Every function broadcasts numpy-style over scalars, arrays and Series. The result takes the kind
of `mu` (a Series keeps its index); if broadcasting widens a scalar `mu`, an array comes back.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy import stats

Values = TypeVar("Values", float, np.ndarray, pd.Series)
ArrayLike = float | np.ndarray | pd.Series

DEFAULT_SIGMA_FLOOR = 1.0
DEFAULT_MIN_TIER_COUNT = 30


class SpreadError(ValueError):
    """A spread (sigma or dispersion) that cannot describe a distribution."""


def _like(template: Any, result: np.ndarray) -> Any:
    """Wrap `result` as the kind of `template` when shapes agree, else return the array."""
    if np.shape(template) != result.shape:
        return result
    if isinstance(template, pd.Series):
        return pd.Series(result, index=template.index)
    if result.ndim == 0:
        return float(result)
    return result


def _arrays(*values: ArrayLike) -> list[np.ndarray]:
    return [np.asarray(v, dtype=float) for v in values]


def _check_sigma(sigma: np.ndarray) -> None:
    if np.any(sigma <= 0):
        raise SpreadError(
            "sigma must be positive; fit it with fit_tier_spread on out-of-sample residuals"
        )


def prob_over(mu: Values, line: ArrayLike, sigma: ArrayLike) -> Values:
    """P(Y >= floor(L) + 1) for Y ~ Normal(mu, sigma) with a continuity correction."""
    m, ln, s = _arrays(mu, line, sigma)
    _check_sigma(s)
    threshold = np.floor(ln) + 1.0
    return _like(mu, np.asarray(stats.norm.sf((threshold - 0.5 - m) / s)))


def prob_push(mu: Values, line: ArrayLike, sigma: ArrayLike) -> Values:
    """P(Y == L) for a whole-number line under Normal(mu, sigma); 0 for a half-point line."""
    m, ln, s = _arrays(mu, line, sigma)
    _check_sigma(s)
    mass = stats.norm.cdf((ln + 0.5 - m) / s) - stats.norm.cdf((ln - 0.5 - m) / s)
    return _like(mu, np.where(ln == np.floor(ln), mass, 0.0))


def prob_under(mu: Values, line: ArrayLike, sigma: ArrayLike) -> Values:
    """P(Y <= ceil(L) - 1) under Normal(mu, sigma): the complement of over and push."""
    m, ln, s = _arrays(mu, line, sigma)
    _check_sigma(s)
    return _like(mu, np.asarray(stats.norm.cdf((np.ceil(ln) - 0.5 - m) / s)))


def _nbinom_parts(mu: ArrayLike, phi: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, scipy n, scipy p) of a negative binomial, variance phi * mean; phi=1 is Poisson."""
    m, f = _arrays(mu, phi)
    if np.any(f < 1):
        raise SpreadError(
            "phi (variance / mean) must be >= 1 for a negative binomial; "
            "use prob_over with a normal sigma for under-dispersed stats"
        )
    m = np.maximum(m, 1e-12)
    f_safe = np.where(f > 1, f, 2.0)
    return m, m / (f_safe - 1.0), 1.0 / f_safe


def prob_over_nbinom(mu: Values, line: ArrayLike, phi: ArrayLike) -> Values:
    """P(Y >= floor(L) + 1) for Y negative binomial with mean mu and variance phi * mu."""
    m, n, p = _nbinom_parts(mu, phi)
    k = np.floor(np.asarray(line, dtype=float))
    poisson = np.asarray(np.asarray(phi, dtype=float) == 1)
    over = np.where(poisson, stats.poisson.sf(k, m), stats.nbinom.sf(k, n, p))
    return _like(mu, np.asarray(over, dtype=float))


def prob_push_nbinom(mu: Values, line: ArrayLike, phi: ArrayLike) -> Values:
    """P(Y == L) for a whole-number line under the negative binomial; 0 for a half-point line."""
    m, n, p = _nbinom_parts(mu, phi)
    ln = np.asarray(line, dtype=float)
    poisson = np.asarray(np.asarray(phi, dtype=float) == 1)
    mass = np.where(poisson, stats.poisson.pmf(ln, m), stats.nbinom.pmf(ln, n, p))
    return _like(mu, np.where(ln == np.floor(ln), mass, 0.0).astype(float))


def fit_tier_spread(
    residuals: ArrayLike,
    tiers: np.ndarray | pd.Series,
    *,
    floor: float = DEFAULT_SIGMA_FLOOR,
    min_count: int = DEFAULT_MIN_TIER_COUNT,
) -> dict[Hashable, float]:
    """Sigma per player tier: the root mean square of out-of-sample residuals (actual - predicted).

    The RMS (not the SD) keeps any bias of the model in the spread. A tier with fewer than
    `min_count` residuals borrows the pooled value; no sigma falls below `floor`.
    """
    r = np.asarray(residuals, dtype=float)
    t = np.asarray(tiers)
    if r.shape != t.shape:
        raise ValueError(
            f"residuals ({r.size}) and tiers ({t.size}) must have one entry per prediction"
        )
    keep = np.isfinite(r)
    r, t = r[keep], t[keep]
    if r.size == 0:
        raise ValueError("no finite residuals: pass out-of-sample residuals (actual - predicted)")
    pooled = max(floor, float(np.sqrt(np.mean(r**2))))
    spread: dict[Hashable, float] = {}
    for tier in pd.unique(t):
        in_tier = r[t == tier]
        rms = float(np.sqrt(np.mean(in_tier**2))) if in_tier.size >= min_count else pooled
        spread[tier.item() if isinstance(tier, np.generic) else tier] = max(floor, rms)
    return spread


def sigma_by_tier(tiers: np.ndarray | pd.Series, spread: dict[Hashable, float]) -> np.ndarray:
    """Each prediction's sigma from its tier; a tier never seen in fitting gets the widest sigma."""
    if not spread:
        raise SpreadError("the spread is empty; fit it first with fit_tier_spread")
    widest = max(spread.values())
    return np.array([spread.get(tier, widest) for tier in np.asarray(tiers).tolist()], dtype=float)
