"""Time splits on whole game dates: train/validation, walk-forward folds, calibration hold-out.

Every split cuts between two dates, never inside one, so no validation (or test, or calibration)
row shares a date with, or precedes, a row the model was fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


class SplitError(ValueError):
    """The dates cannot be split as asked; the message says what to change."""


def _days(dates: pd.Series | pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """Dates as datetime64[ns] at midnight; raises SplitError on missing dates."""
    values = pd.to_datetime(pd.Series(np.asarray(dates))).dt.normalize()
    if values.isna().any():
        raise SplitError("some dates are missing (NaT); drop those rows before splitting")
    return values.to_numpy(dtype="datetime64[ns]")


def time_split(
    dates: pd.Series | pd.DatetimeIndex | np.ndarray, val_fraction: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (train, validation) masks: the last whole dates holding about `val_fraction` of rows.

    Every validation date is strictly after every training date; both sides are non-empty.
    """
    if not 0.0 < val_fraction < 1.0:
        raise SplitError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    days = _days(dates)
    unique, counts = np.unique(days, return_counts=True)
    if len(unique) < 2:
        raise SplitError(
            f"a time split needs at least two distinct dates, got {len(unique)}; add more games"
        )
    share_through = np.cumsum(counts)[:-1] / len(days)
    train_dates = int(np.argmin(np.abs(share_through - (1.0 - val_fraction)))) + 1
    first_validation = unique[train_dates]
    train = days < first_validation
    return train, ~train


@dataclass(frozen=True, eq=False)
class Fold:
    """One walk-forward step: fit on every date before `test_start`, test on [test_start, test_end).

    `train_end` is exclusive and equals `test_start`; the masks are aligned with the input dates.
    """

    train_end: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp
    train_mask: np.ndarray
    test_mask: np.ndarray

    @property
    def train_index(self) -> np.ndarray:
        """Positions of the training rows."""
        return np.flatnonzero(self.train_mask)

    @property
    def test_index(self) -> np.ndarray:
        """Positions of the test rows."""
        return np.flatnonzero(self.test_mask)


def walk_forward_folds(
    dates: pd.Series | pd.DatetimeIndex | np.ndarray,
    test_start: pd.Timestamp,
    test_end: pd.Timestamp,
    refit_days: int = 30,
) -> list[Fold]:
    """Expanding-window folds over [test_start, test_end), refitting every `refit_days` days.

    Windows without games (the off-season) yield no fold. Raises SplitError when the range holds
    no games or a fold would have nothing to train on.
    """
    if refit_days < 1:
        raise SplitError(f"refit_days must be at least 1, got {refit_days}")
    start, end = pd.Timestamp(test_start).normalize(), pd.Timestamp(test_end).normalize()
    if start >= end:
        raise SplitError(f"test_start {start.date()} must come before test_end {end.date()}")
    days = _days(dates)
    folds: list[Fold] = []
    step = pd.Timedelta(days=refit_days)
    fold_start = start
    while fold_start < end:
        fold_end = min(fold_start + step, end)
        lo, hi = np.datetime64(fold_start, "ns"), np.datetime64(fold_end, "ns")
        test = (days >= lo) & (days < hi)
        if test.any():
            train = days < lo
            if not train.any():
                raise SplitError(
                    f"no games before {fold_start.date()} to train on; move test_start later"
                )
            folds.append(Fold(fold_start, fold_start, fold_end, train, test))
        fold_start = fold_end
    if not folds:
        raise SplitError(f"no games between {start.date()} and {end.date()} to test on")
    return folds
