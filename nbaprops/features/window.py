"""Window statistics over runs of rows: one run per player (or team), rows in date order.

A window is a matrix whose column j holds the value `lag` rows earlier in the same run (NaN where
the run has no such row). Every statistic is then computed row by row with element-wise numpy,
so a row's value depends only on the rows inside its own window: never on later rows, never on
another run, and it stays bit-identical when later rows change or disappear.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def run_positions(run_codes: np.ndarray) -> np.ndarray:
    """Position of each row inside its run (0 for a run's first row); rows sorted by run."""
    n = len(run_codes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    starts[1:] = run_codes[1:] != run_codes[:-1]
    start_rows = np.flatnonzero(starts)
    run_index = np.cumsum(starts) - 1
    return np.arange(n, dtype=np.int64) - start_rows[run_index]


def lag_matrix(values: np.ndarray, pos: np.ndarray, lags: range) -> np.ndarray:
    """Column j holds values[i - lags[j]] when that row is in the same run, else NaN."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    out = np.full((n, len(lags)), np.nan, order="F")  # each lag contiguous
    for j, lag in enumerate(lags):
        if lag == 0:
            out[:, j] = values
        elif lag < n:
            out[lag:, j] = np.where(pos[lag:] >= lag, values[:-lag], np.nan)
    return out


def past_matrix(values: np.ndarray, pos: np.ndarray, window: int) -> np.ndarray:
    """The run's previous `window` values, most recent first; the row's own value never enters."""
    return lag_matrix(values, pos, range(1, window + 1))


def through_matrix(values: np.ndarray, pos: np.ndarray, window: int) -> np.ndarray:
    """The row's own value and the run's previous window-1 values, most recent first.

    Only for tables that are afterwards read strictly before a date (see `value_before`).
    """
    return lag_matrix(values, pos, range(0, window))


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def window_count(matrix: np.ndarray) -> np.ndarray:
    """How many non-missing values each row's window holds."""
    return (~np.isnan(matrix)).sum(axis=1)


def window_sum(matrix: np.ndarray) -> np.ndarray:
    """Sum of the non-missing values of each row's window (0 for an empty window)."""
    total = np.zeros(matrix.shape[0])
    for j in range(matrix.shape[1]):
        col = matrix[:, j]
        total += np.where(np.isnan(col), 0.0, col)
    return total


def weighted_mean(matrix: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean of the non-missing window values; NaN for an empty window."""
    num = np.zeros(matrix.shape[0])
    den = np.zeros(matrix.shape[0])
    for j in range(matrix.shape[1]):
        col = matrix[:, j]
        ok = ~np.isnan(col)
        num += np.where(ok, col * weights[j], 0.0)
        den += np.where(ok, weights[j], 0.0)
    return _safe_divide(num, den)


def window_mean(matrix: np.ndarray) -> np.ndarray:
    """Plain mean of the non-missing window values; NaN for an empty window."""
    return weighted_mean(matrix, np.ones(matrix.shape[1]))


def ewma_weights(span: int, window: int) -> np.ndarray:
    """Weights (1 - alpha)^k, alpha = 2 / (span + 1), most recent game first.

    For a player with at most `window` games this equals pandas' ewm(span=span, adjust=True);
    beyond that, games older than the window drop out.
    """
    alpha = 2.0 / (span + 1.0)
    return (1.0 - alpha) ** np.arange(window, dtype=np.float64)


def window_ewma(matrix: np.ndarray, span: int) -> np.ndarray:
    """Exponentially weighted mean of the window, most recent value weighted highest."""
    return weighted_mean(matrix, ewma_weights(span, matrix.shape[1]))


def window_std(matrix: np.ndarray) -> np.ndarray:
    """Sample standard deviation (ddof=1) of the window; NaN with fewer than two values."""
    count = window_count(matrix)
    mean = window_mean(matrix)
    squares = np.zeros(matrix.shape[0])
    for j in range(matrix.shape[1]):
        dev = matrix[:, j] - mean
        squares += np.where(np.isnan(dev), 0.0, dev * dev)
    return np.sqrt(_safe_divide(squares, (count - 1).astype(np.float64)))


def window_slope(matrix: np.ndarray, min_count: int = 3) -> np.ndarray:
    """Least-squares slope of the window values per game, oldest to newest.

    Column j sits at game index -j (column 0 is the most recent game), so a rising series has a
    positive slope. NaN when fewer than `min_count` values are present.
    """
    x = -np.arange(matrix.shape[1], dtype=np.float64)
    present = ~np.isnan(matrix)
    count = present.sum(axis=1).astype(np.float64)
    x_mean = _safe_divide(window_sum(np.where(present, x, np.nan)), count)
    y_mean = window_mean(matrix)
    sxy = np.zeros(matrix.shape[0])
    sxx = np.zeros(matrix.shape[0])
    for j in range(matrix.shape[1]):
        ok = present[:, j]
        dx = x[j] - x_mean
        sxy += np.where(ok, dx * (matrix[:, j] - y_mean), 0.0)
        sxx += np.where(ok, dx * dx, 0.0)
    slope = _safe_divide(sxy, sxx)
    slope[count < min_count] = np.nan
    return slope


def running_before(values: np.ndarray, run_codes: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """For each row, the sum of the run's earlier non-missing values (0 for a run's first row).

    Uses pandas' per-group cumulative sum, which restarts for each run, so the result of a row
    never depends on other runs or on later rows.
    """
    filled = np.where(np.isnan(values), 0.0, values)
    through = pd.Series(filled).groupby(run_codes, sort=False).cumsum().to_numpy(np.float64)
    before = np.zeros(len(values))
    if len(values) > 1:
        before[1:] = np.where(pos[1:] > 0, through[:-1], 0.0)
    return before


def value_before(
    table_runs: np.ndarray,
    table_days: np.ndarray,
    table_values: np.ndarray,
    query_runs: np.ndarray,
    query_days: np.ndarray,
) -> np.ndarray:
    """For each query (run, day), the table value of that run's last row strictly before day.

    The table holds one row per (run, day) with a value "through" that day; reading it strictly
    before the query day is what keeps same-day and later games out. NaN when the run has no
    earlier row (or the query run is missing, code -1).
    """
    if len(table_values) == 0 or len(query_runs) == 0:
        return np.full(len(query_runs), np.nan)
    span = int(max(table_days.max(), query_days.max()) - min(table_days.min(), query_days.min()))
    base = int(min(table_days.min(), query_days.min()))
    stride = np.int64(span + 2)
    table_key = table_runs.astype(np.int64) * stride + (table_days.astype(np.int64) - base)
    query_key = query_runs.astype(np.int64) * stride + (query_days.astype(np.int64) - base)
    order = np.argsort(table_key, kind="stable")
    sorted_keys = table_key[order]
    found = np.searchsorted(sorted_keys, query_key, side="left") - 1
    hit = found >= 0
    rows = order[np.where(hit, found, 0)]
    hit &= table_runs[rows] == query_runs
    hit &= query_runs >= 0
    return np.where(hit, np.asarray(table_values, dtype=np.float64)[rows], np.nan)
