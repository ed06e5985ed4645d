"""Time splits: whole dates, validation strictly after training, expanding walk-forward folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbaprops.splits import SplitError, time_split, walk_forward_folds

DAY0 = pd.Timestamp("2024-01-01")


def to_dates(offsets: list[int]) -> pd.Series:
    return pd.Series(DAY0 + pd.to_timedelta(offsets, unit="D"))


#: Game dates of 2 to 200 rows over at least two distinct days: what a split can cut.
splittable_dates = (
    st.lists(st.integers(0, 60), min_size=2, max_size=200)
    .filter(lambda offsets: len(set(offsets)) >= 2)
    .map(to_dates)
)


@settings(max_examples=50, deadline=None)
@given(day=st.integers(0, 60), rows=st.integers(2, 200), val_fraction=st.floats(0.01, 0.99))
def test_rows_all_on_one_date_cannot_be_split(day: int, rows: int, val_fraction: float) -> None:
    with pytest.raises(SplitError, match="at least two distinct dates"):
        time_split(to_dates([day] * rows), val_fraction)


@settings(max_examples=150, deadline=None)
@given(dates=splittable_dates, val_fraction=st.floats(0.01, 0.99))
def test_validation_is_after_training_and_the_closest_whole_date_cut(
    dates: pd.Series, val_fraction: float
) -> None:
    train, val = time_split(dates, val_fraction)
    assert train.dtype == bool and val.dtype == bool
    assert (train ^ val).all()  # a partition of the rows
    assert train.any() and val.any()
    assert dates[train].max() < dates[val].min()
    # No other cut between two dates gets closer to the requested share.
    shares = [(dates >= d).mean() for d in sorted(dates.unique())[1:]]
    best = min(abs(s - val_fraction) for s in shares)
    assert abs(val.mean() - val_fraction) == pytest.approx(best)


def test_time_split_keeps_a_date_on_one_side() -> None:
    dates = to_dates([0] * 5 + [1] * 90 + [2] * 5)
    train, val = time_split(dates, 0.5)
    # Half the rows fall inside day 1; the cut goes around it, never through it.
    assert set(dates[train].dt.day) in ({1}, {1, 2})
    assert dates[train].max() < dates[val].min()


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5])
def test_time_split_rejects_fractions_outside_0_1(bad: float) -> None:
    with pytest.raises(SplitError, match="between 0 and 1"):
        time_split(to_dates([0, 1, 2]), bad)


def test_time_split_rejects_missing_dates() -> None:
    with pytest.raises(SplitError, match="NaT"):
        time_split(pd.Series([DAY0, pd.NaT, DAY0 + pd.Timedelta(days=1)]))


@settings(max_examples=100, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 120), min_size=1, max_size=200),
    start=st.integers(1, 100),
    length=st.integers(1, 60),
    refit_days=st.integers(1, 40),
)
def test_walk_forward_folds_never_train_on_or_after_test_start(
    offsets: list[int], start: int, length: int, refit_days: int
) -> None:
    dates = to_dates(offsets)
    test_start, test_end = DAY0 + pd.Timedelta(days=start), DAY0 + pd.Timedelta(days=start + length)
    in_range = (dates >= test_start) & (dates < test_end)
    try:
        folds = walk_forward_folds(dates, test_start, test_end, refit_days)
    except SplitError as error:
        assert not in_range.any() or not (dates < test_start).any(), error
        return
    covered = np.zeros(len(dates), dtype=bool)
    previous_train = np.zeros(len(dates), dtype=bool)
    for fold in folds:
        assert fold.train_end == fold.test_start
        assert fold.test_end - fold.test_start <= pd.Timedelta(days=refit_days)
        assert fold.train_mask.any() and fold.test_mask.any()
        assert dates[fold.train_mask].max() < fold.test_start
        assert dates[fold.test_mask].min() >= fold.test_start
        assert dates[fold.test_mask].max() < fold.test_end
        assert not (fold.train_mask & fold.test_mask).any()
        assert (previous_train <= fold.train_mask).all()  # expanding window
        assert not (covered & fold.test_mask).any()  # test windows never overlap
        covered |= fold.test_mask
        previous_train = fold.train_mask
    assert (covered == in_range.to_numpy()).all()  # every row in range is tested exactly once


def test_walk_forward_folds_by_hand() -> None:
    dates = pd.Series(pd.date_range("2024-01-01", "2024-03-31", freq="D"))
    folds = walk_forward_folds(dates, pd.Timestamp("2024-02-01"), pd.Timestamp("2024-03-15"), 30)
    assert [(f.test_start.date().isoformat(), f.test_end.date().isoformat()) for f in folds] == [
        ("2024-02-01", "2024-03-02"),
        ("2024-03-02", "2024-03-15"),
    ]
    assert folds[0].train_index.tolist() == list(range(31))  # all of January
    assert folds[1].train_index.tolist() == list(range(61))  # January and February 1..Mar 1
    assert len(folds[1].test_index) == 13


def test_walk_forward_skips_windows_without_games() -> None:
    season_end = pd.date_range("2024-03-01", "2024-04-14", freq="D")
    next_season = pd.date_range("2024-10-22", "2024-11-30", freq="D")
    dates = pd.Series(season_end.append(next_season))
    folds = walk_forward_folds(dates, pd.Timestamp("2024-04-01"), pd.Timestamp("2024-12-01"), 30)
    assert all(f.test_mask.any() for f in folds)
    assert folds[0].test_start == pd.Timestamp("2024-04-01")
    assert sum(int(f.test_mask.sum()) for f in folds) == 14 + len(next_season)


def test_walk_forward_errors_tell_what_to_change() -> None:
    dates = to_dates(list(range(10)))
    with pytest.raises(SplitError, match="move test_start later"):
        walk_forward_folds(dates, DAY0, DAY0 + pd.Timedelta(days=5))
    with pytest.raises(SplitError, match="no games between"):
        walk_forward_folds(dates, DAY0 + pd.Timedelta(days=20), DAY0 + pd.Timedelta(days=30))
    with pytest.raises(SplitError, match="must come before"):
        walk_forward_folds(dates, DAY0 + pd.Timedelta(days=5), DAY0 + pd.Timedelta(days=5))
    with pytest.raises(SplitError, match="refit_days"):
        walk_forward_folds(dates, DAY0 + pd.Timedelta(days=5), DAY0 + pd.Timedelta(days=8), 0)
