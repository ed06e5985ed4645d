"""A small hand-rolled game-log factory: canonical columns, real schedule shape, seeded."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from nbaprops.seasons import season_label


def make_game_log(
    teams: int = 4,
    players_per_team: int = 5,
    dates: int = 30,
    seed: int = 0,
    first_season_start: str = "2023-03-20",
    second_season_start: str = "2023-10-24",
    play_probability: float = 0.85,
) -> pd.DataFrame:
    """A game log spanning the end of one season and the start of the next.

    Each date pairs the teams at random and each pair plays with probability 0.7; each player
    of a playing team appears with `play_probability` (DNPs are absent, as in real box scores).
    Players differ in minutes and scoring rate, so all tiers occur.
    """
    rng = np.random.default_rng(seed)
    half = dates // 2
    days = list(pd.date_range(first_season_start, periods=half, freq="D")) + list(
        pd.date_range(second_season_start, periods=dates - half, freq="D")
    )
    team_names = [f"T{t:02d}" for t in range(teams)]
    roster = {
        team: [1000 + t * 100 + p for p in range(players_per_team)]
        for t, team in enumerate(team_names)
    }
    minutes_mean = {pid: rng.uniform(10, 36) for players in roster.values() for pid in players}
    rate = {pid: rng.uniform(0.25, 0.75) for players in roster.values() for pid in players}
    rows = []
    game_number = 0
    for day in days:
        order = rng.permutation(teams)
        for a, b in zip(order[::2], order[1::2], strict=False):
            if rng.random() > 0.7:
                continue
            game_number += 1
            home_team = rng.integers(2)
            for side, (team, opponent) in enumerate(
                ((team_names[a], team_names[b]), (team_names[b], team_names[a]))
            ):
                for pid in roster[team]:
                    if rng.random() > play_probability:
                        continue
                    minutes = float(np.clip(rng.normal(minutes_mean[pid], 5), 1, 46).round(1))
                    fga = int(rng.poisson(minutes * 0.4))
                    fta = int(rng.poisson(minutes * 0.1))
                    points = int(rng.poisson(minutes * rate[pid]))
                    rows.append(
                        {
                            "game_date": day,
                            "player_id": pid,
                            "player_name": f"Player {pid}",
                            "game_id": f"G{game_number:05d}",
                            "season": season_label(day.year - (day.month < 7)),
                            "team": team,
                            "opponent": opponent,
                            "home": int(side == home_team),
                            "MIN": minutes,
                            "PTS": points,
                            "REB": int(rng.poisson(minutes * 0.15)),
                            "AST": int(rng.poisson(minutes * 0.1)),
                            "FGA": fga,
                            "FTA": fta,
                            "TOV": int(rng.poisson(minutes * 0.05)),
                        }
                    )
    games = pd.DataFrame(rows)
    games["game_date"] = pd.to_datetime(games["game_date"])
    return games


@pytest.fixture(scope="session")
def game_log() -> pd.DataFrame:
    """A shared small log (about 1,000 rows); tests copy before changing it."""
    return make_game_log(teams=6, players_per_team=6, dates=40, seed=7)


@pytest.fixture(scope="session")
def make_log() -> Callable[..., pd.DataFrame]:
    """The factory itself, for tests that need logs of their own shape or seed."""
    return make_game_log
