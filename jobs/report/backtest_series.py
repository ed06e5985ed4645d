"""Chart series of the Production model's latest backtest, from the bets.csv it logged.

Pure functions of the bet ledger (nbaprops.betting.ledger.LEDGER_COLUMNS): the flat-stake
bankroll day by day, and the reliability bins of P(over) over the decided bets.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from jobs.report.model import CalibrationBin
from nbaprops.betting.metrics import calibration_curve_points

# The backtest's bankroll is 1,000 at 10 a flat bet: 100 flat-stake units.
BANKROLL_START_UNITS = 100.0
BET_COLUMNS = ("game_date", "side", "p_model", "result", "profit_flat", "stake_flat")


class BetsFileError(ValueError):
    """A bets.csv artifact without the ledger's columns; the message names what is missing."""


def _check_bets(bets: pd.DataFrame) -> None:
    missing = [c for c in BET_COLUMNS if c not in bets.columns]
    if missing:
        raise BetsFileError(
            f"bets.csv lacks column(s) {', '.join(missing)}; expected the ledger's columns "
            "(nbaprops.betting.ledger.LEDGER_COLUMNS): re-run the backtest to log it again"
        )


def bankroll_series(bets: pd.DataFrame) -> tuple[tuple[dt.date, float], ...]:
    """End-of-day flat-stake bankroll in units, from 100 the day before the first bet."""
    _check_bets(bets)
    if bets.empty:
        return ()
    days = pd.to_datetime(bets["game_date"]).dt.date
    units = bets["profit_flat"].astype(float) / bets["stake_flat"].astype(float)
    daily = units.groupby(days).sum().sort_index()
    equity = BANKROLL_START_UNITS + daily.cumsum()
    first = daily.index[0] - dt.timedelta(days=1)
    points = [(first, BANKROLL_START_UNITS)]
    points.extend((day, float(value)) for day, value in equity.items())
    return tuple(points)


def calibration_bins(bets: pd.DataFrame) -> tuple[CalibrationBin, ...]:
    """Reliability bins of P(over) over the decided bets (pushes left out).

    A bet's model probability is that of its own side; for an under bet P(over) is taken as
    1 - p_model, exact on the usual half-point lines where no push is possible.
    """
    _check_bets(bets)
    decided = bets[bets["result"].isin(["win", "loss"])]
    if decided.empty:
        return ()
    over = decided["side"] == "over"
    p_model = decided["p_model"].astype(float)
    p_over = p_model.where(over, 1.0 - p_model)
    went_over = (decided["result"] == "win").where(over, decided["result"] == "loss")
    points = calibration_curve_points(p_over.to_numpy(), went_over.astype(float).to_numpy())
    return tuple(
        CalibrationBin(float(p), float(y), int(n))
        for p, y, n in zip(points["mean_p"], points["mean_y"], points["count"], strict=True)
    )
