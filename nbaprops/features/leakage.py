"""The leakage check: a feature is past-only if rewriting or deleting the future cannot move it.

`assert_past_only` rebuilds features on counterfactual game logs and demands that every feature
(and the tier label) of every row on or before a cutoff date stays bit-identical. It takes any
build function, so tests can prove it catches a deliberately leaky one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from nbaprops.data.feed import STAT_COLUMNS
from nbaprops.features.build import FeatureFrame

BuildFn = Callable[[pd.DataFrame], FeatureFrame]

# Ranges for scrambled box-score stats: realistic enough to reach every code path.
_SCRAMBLE_RANGES: dict[str, tuple[int, int]] = {
    "MIN": (1, 45),
    "PTS": (0, 55),
    "REB": (0, 18),
    "AST": (0, 15),
    "FGA": (0, 30),
    "FTA": (0, 15),
    "TOV": (0, 8),
    "PRA": (0, 80),
}


class LeakageError(AssertionError):
    """A feature changed when only games on or after its own date changed: it sees the future."""


def scramble_from(games: pd.DataFrame, cutoff: pd.Timestamp, seed: int = 0) -> pd.DataFrame:
    """A copy of games whose box-score stats on or after `cutoff` are random; keys are kept."""
    rng = np.random.default_rng(seed)
    out = games.copy()
    future = (pd.to_datetime(out["game_date"]) >= pd.Timestamp(cutoff)).to_numpy()
    for column in STAT_COLUMNS:
        if column not in out.columns:
            continue
        low, high = _SCRAMBLE_RANGES[column]
        drawn = rng.integers(low, high, size=len(out)).astype(np.float64)
        if column == "MIN" and not pd.api.types.is_integer_dtype(out[column].dtype):
            drawn += rng.random(len(out)).round(1)
        replacement = pd.Series(drawn, index=out.index).astype(out[column].dtype)
        out[column] = out[column].mask(future, replacement)
    return out


def assert_past_only(
    build_fn: BuildFn, games: pd.DataFrame, cutoff: pd.Timestamp, seed: int = 0
) -> None:
    """Raise LeakageError unless features on or before `cutoff` ignore games from `cutoff` on.

    Three counterfactuals, each compared bit for bit with the features of the real log:
    stats of every row from the cutoff day on scrambled (rows up to and including the cutoff day
    compared: same-day stats must not leak); rows from the cutoff day on deleted (earlier rows
    compared); rows after the cutoff day deleted and the cutoff day scrambled (rows up to and
    including the cutoff day compared).
    """
    cutoff = pd.Timestamp(cutoff).normalize()
    base = games.reset_index(drop=True)
    dates = pd.to_datetime(base["game_date"]).dt.normalize()
    if not (dates < cutoff).any():
        raise ValueError(f"no games before {cutoff.date()}; choose a cutoff inside the data")
    reference = _build(build_fn, base)
    scrambled = scramble_from(base, cutoff, seed)
    scenarios = [
        ("scrambling stats from that day on", scrambled, dates <= cutoff),
        ("deleting games from that day on", base.loc[dates < cutoff], dates < cutoff),
        (
            "deleting later games and scrambling that day's stats",
            scrambled.loc[dates <= cutoff],
            dates <= cutoff,
        ),
    ]
    for label, games_alt, compared in scenarios:
        alternative = _build(build_fn, games_alt)
        _compare(reference, alternative, base.index[compared.to_numpy()], cutoff, label)


def _build(build_fn: BuildFn, games: pd.DataFrame) -> FeatureFrame:
    frame = build_fn(games)
    if not frame.X.index.equals(games.index):
        raise ValueError("the build function must return features indexed like its input rows")
    return frame


def _same_bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise: equal bit patterns, or both NaN (NaN payloads may differ harmlessly)."""
    both_nan = np.isnan(a) & np.isnan(b)
    return (a.view(np.int64) == b.view(np.int64)) | both_nan


def _compare(
    reference: FeatureFrame,
    alternative: FeatureFrame,
    rows: pd.Index,
    cutoff: pd.Timestamp,
    label: str,
) -> None:
    columns = [c for c in reference.X.columns if c in alternative.X.columns]
    if not columns:
        raise ValueError("the two builds share no feature column; nothing to compare")
    for column in columns:
        a = np.ascontiguousarray(reference.X.loc[rows, column].to_numpy(np.float64))
        b = np.ascontiguousarray(alternative.X.loc[rows, column].to_numpy(np.float64))
        same = _same_bits(a, b)
        if not same.all():
            first = int(np.flatnonzero(~same)[0])
            row = reference.keys.loc[rows[first]]
            raise LeakageError(
                f"feature {column!r} changed on {int((~same).sum())} of {len(rows)} rows dated "
                f"on or before {cutoff.date()} after {label} (e.g. player {row['player_id']} "
                f"on {pd.Timestamp(row['game_date']).date()}: {a[first]!r} -> {b[first]!r}); "
                f"it reads games that had not been played yet: compute it from earlier dates "
                f"only (shift(1) within the player, or a team value strictly before the date)"
            )
    if "tier" in reference.keys.columns and "tier" in alternative.keys.columns:
        a_tier = reference.keys.loc[rows, "tier"].to_numpy()
        b_tier = alternative.keys.loc[rows, "tier"].to_numpy()
        changed = a_tier != b_tier
        if changed.any():
            raise LeakageError(
                f"the tier label changed on {int(changed.sum())} rows dated on or before "
                f"{cutoff.date()} after {label}; derive it from earlier games only"
            )
