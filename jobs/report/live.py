"""Production's live record from the state database's `live_predictions` table.

The table keeps the line, P(over) and, once settled, the actual stat of every live prediction,
but no price. Live ROI and the live bankroll therefore bet one flat unit at a standard -110 on
the side the model favours when that side's edge at -110 is positive (P > 0.524), settle it
against the line (a push returns the stake), and start the bankroll at 100 units like the
backtest's. Live MAE covers every settled prediction; calibration covers the priced, decided
ones (P(over) against "went over").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa

from jobs.loop.live_predictions import live_predictions
from jobs.report.backtest_series import BANKROLL_START_UNITS
from jobs.report.model import CalibrationBin
from nbaprops.betting.metrics import calibration_curve_points

STANDARD_DECIMAL_PRICE = 1.0 + 100.0 / 110.0
LIVE_COLUMNS = ("made_for", "model_version", "line", "prediction", "p_over", "actual")


def settled_live(engine: sa.Engine | None, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Settled live predictions made in [start, end), oldest first; empty without the table."""
    empty = pd.DataFrame(columns=list(LIVE_COLUMNS))
    if engine is None or not sa.inspect(engine).has_table(live_predictions.name):
        return empty
    table = live_predictions
    query = (
        sa.select(*(table.c[name] for name in LIVE_COLUMNS))
        .where(table.c.made_for >= start, table.c.made_for < end, table.c.actual.is_not(None))
        .order_by(table.c.made_for, table.c.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).fetchall()
    if not rows:
        return empty
    frame = pd.DataFrame(rows, columns=list(LIVE_COLUMNS))
    frame["made_for"] = pd.to_datetime(frame["made_for"]).dt.date
    return frame


def live_bets(settled: pd.DataFrame) -> pd.DataFrame:
    """The flat -110 bets of the settled predictions: made_for and profit (units) per bet."""
    priced = settled.dropna(subset=["line", "p_over"])
    p_over = priced["p_over"].astype(float)
    over = p_over >= 0.5
    p_side = p_over.where(over, 1.0 - p_over)
    taken = priced[p_side * STANDARD_DECIMAL_PRICE - 1.0 > 0.0]
    side_over = over[taken.index]
    actual, line = taken["actual"].astype(float), taken["line"].astype(float)
    won = (actual > line).where(side_over, actual < line)
    push = actual == line
    profit = np.where(push, 0.0, np.where(won, STANDARD_DECIMAL_PRICE - 1.0, -1.0))
    return pd.DataFrame({"made_for": taken["made_for"].to_numpy(), "profit": profit})


def bankroll_by_day(bets: pd.DataFrame) -> tuple[tuple[dt.date, float], ...]:
    """End-of-day flat bankroll in units, from 100 on the day before the first bet."""
    if bets.empty:
        return ()
    daily = bets.groupby("made_for")["profit"].sum().sort_index()
    equity = BANKROLL_START_UNITS + daily.cumsum()
    first = daily.index[0] - dt.timedelta(days=1)
    return ((first, BANKROLL_START_UNITS), *((d, float(v)) for d, v in equity.items()))


def reliability_bins(settled: pd.DataFrame) -> tuple[CalibrationBin, ...]:
    """Reliability bins of P(over) over the priced predictions that did not push."""
    priced = settled.dropna(subset=["line", "p_over"])
    decided = priced[priced["actual"].astype(float) != priced["line"].astype(float)]
    if decided.empty:
        return ()
    went_over = (decided["actual"].astype(float) > decided["line"].astype(float)).astype(float)
    points = calibration_curve_points(decided["p_over"].astype(float).to_numpy(), went_over)
    return tuple(
        CalibrationBin(float(p), float(y), int(n))
        for p, y, n in zip(points["mean_p"], points["mean_y"], points["count"], strict=True)
    )


def ece(bins: Sequence[CalibrationBin]) -> float | None:
    """Expected calibration error of reliability bins (count-weighted |mean p - mean y|)."""
    total = sum(b.count for b in bins)
    if total == 0:
        return None
    return sum(b.count / total * abs(b.mean_p - b.mean_y) for b in bins)


def mean_abs_error(settled: pd.DataFrame) -> float | None:
    """MAE of the settled predictions, None when there are none."""
    if settled.empty:
        return None
    errors = (settled["actual"].astype(float) - settled["prediction"].astype(float)).abs()
    return float(errors.mean())


def roi_of(bets: pd.DataFrame) -> float | None:
    """Profit per unit staked of flat bets, None without bets."""
    return None if bets.empty else float(bets["profit"].sum() / len(bets))


def win_rate_of(bets: pd.DataFrame) -> float | None:
    """Share of the decided flat bets that won (pushes left out), None without any."""
    decided = bets["profit"] != 0.0 if not bets.empty else pd.Series(dtype=bool)
    if not decided.any():
        return None
    return float((bets.loc[decided, "profit"] > 0.0).mean())
