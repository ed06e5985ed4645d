"""Player features: the player's own previous games only (form, usage, efficiency, schedule).

Works on a `PlayerLog`: rows sorted by (player, date), at most one game a player a day, so the
player's previous rows are exactly the player's games on earlier dates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nbaprops.features.catalog import FREE_THROW_WEIGHT
from nbaprops.features.window import (
    past_matrix,
    running_before,
    window_ewma,
    window_mean,
    window_slope,
    window_std,
)

EWMA_SPAN = 15
EWMA_GAMES = 15
SHORT_GAMES = 5
TREND_GAMES = 10
BASELINE_GAMES = 10
REST_CAP_DAYS = 10.0


@dataclass(frozen=True)
class PlayerLog:
    """Game rows sorted by (player, date) with the run bookkeeping every feature needs."""

    games: pd.DataFrame
    target: np.ndarray
    days: np.ndarray
    player_runs: np.ndarray
    pos: np.ndarray
    season_runs: np.ndarray
    season_pos: np.ndarray

    def column(self, name: str) -> np.ndarray:
        """A stat column as float64 (missing values NaN)."""
        return pd.to_numeric(self.games[name], errors="coerce").to_numpy(np.float64)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den where den > 0, else NaN (a game with no minutes or shots has no rate)."""
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def ewma_previous(log: PlayerLog, values: np.ndarray) -> np.ndarray:
    """EWMA (span 15) of a per-game value over the player's previous 15 games."""
    return window_ewma(past_matrix(values, log.pos, EWMA_GAMES), EWMA_SPAN)


def mean_previous(log: PlayerLog, values: np.ndarray, games: int) -> np.ndarray:
    """Mean of a per-game value over the player's previous `games` games."""
    return window_mean(past_matrix(values, log.pos, games))


def season_form(log: PlayerLog) -> np.ndarray:
    """Season-to-date mean of the target, or career-to-date before the season's first game.

    This is both the `<T>_Season_Mean` feature and the basis of the past-only tier label.
    """
    target = log.target
    present = (~np.isnan(target)).astype(np.float64)
    season_sum = running_before(target, log.season_runs, log.season_pos)
    season_n = running_before(present, log.season_runs, log.season_pos)
    career_sum = running_before(target, log.player_runs, log.pos)
    career_n = running_before(present, log.player_runs, log.pos)
    season = _ratio(season_sum, season_n)
    return np.where(np.isnan(season), _ratio(career_sum, career_n), season)


def usage_per_minute(log: PlayerLog) -> np.ndarray:
    """Per game: (FGA + 0.44 FTA + TOV) / MIN, a usage proxy without team totals."""
    load = log.column("FGA") + FREE_THROW_WEIGHT * log.column("FTA") + log.column("TOV")
    return _ratio(load, log.column("MIN"))


def points_per_shot(log: PlayerLog) -> np.ndarray:
    """Per game: PTS / (FGA + 0.44 FTA), scoring efficiency."""
    shots = log.column("FGA") + FREE_THROW_WEIGHT * log.column("FTA")
    return _ratio(log.column("PTS"), shots)


def rest_days(log: PlayerLog) -> np.ndarray:
    """Days since the player's previous game, capped at 10; NaN before the first game."""
    previous_day = past_matrix(log.days.astype(np.float64), log.pos, 1)[:, 0]
    return np.minimum(log.days - previous_day, REST_CAP_DAYS)


def player_features(log: PlayerLog, target: str, wanted: set[str]) -> dict[str, np.ndarray]:
    """The wanted player features (catalog names), each aligned to the sorted log."""
    t = log.target
    out: dict[str, np.ndarray] = {}
    makers = {
        f"{target}_L15_EWMA": lambda: ewma_previous(log, t),
        f"{target}_L5_Mean": lambda: mean_previous(log, t, SHORT_GAMES),
        f"{target}_Season_Mean": lambda: season_form(log),
        "USG_L15_EWMA": lambda: ewma_previous(log, usage_per_minute(log)),
        "PSA_L15_EWMA": lambda: ewma_previous(log, points_per_shot(log)),
        f"{target}_PER_MIN_L15_EWMA": lambda: ewma_previous(log, _ratio(t, log.column("MIN"))),
        "Minutes_L5_Mean": lambda: mean_previous(log, log.column("MIN"), SHORT_GAMES),
        "rest_days": lambda: rest_days(log),
        "volatility_5game": lambda: window_std(past_matrix(t, log.pos, SHORT_GAMES)),
        "games_in_season": lambda: log.season_pos.astype(np.float64),
        "games_in_history": lambda: log.pos.astype(np.float64),
    }
    for name, make in makers.items():
        if name in wanted:
            out[name] = make()
    trend = next((name for name in wanted if name.startswith("trend_")), None)
    if trend is not None:
        out[trend] = window_slope(past_matrix(t, log.pos, TREND_GAMES))
    if "back_to_back" in wanted:
        rest = out["rest_days"] if "rest_days" in out else rest_days(log)
        out["back_to_back"] = np.where(np.isnan(rest), np.nan, (rest == 1.0).astype(np.float64))
    return out


def rolling_baseline(log: PlayerLog) -> np.ndarray:
    """Mean target over the player's previous 10 games: the baseline every model must beat."""
    return mean_previous(log, log.target, BASELINE_GAMES)
