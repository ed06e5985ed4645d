"""The default feed: a realistic synthetic league (players, games, books), deterministic by seed.

generate.py builds the feed (SyntheticSource), players.py the league's rosters and roles,
lines.py the books' opening and closing lines.
"""

from nbaprops.data.synthetic.generate import (
    MissingTruthError,
    SyntheticConfigError,
    SyntheticSource,
    UnknownMarketError,
    mid_median,
    oracle_mae,
    season_schedule,
)

__all__ = [
    "MissingTruthError",
    "SyntheticConfigError",
    "SyntheticSource",
    "UnknownMarketError",
    "mid_median",
    "oracle_mae",
    "season_schedule",
]
