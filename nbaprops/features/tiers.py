"""Player tiers (star / rotation / bench) from the player's past average, for segmenting MAE.

The label uses only games before the row's date (season-to-date mean, career-to-date before a
season's first game), so a breakout game never promotes its own row.
"""

from __future__ import annotations

import numpy as np

from nbaprops.features.catalog import check_target

STAR, ROTATION, BENCH, UNKNOWN = "star", "rotation", "bench", "unknown"
TIER_LABELS: tuple[str, ...] = (STAR, ROTATION, BENCH, UNKNOWN)

# (rotation from, star from) per target. PTS follows the usual 10 / 20 ppg cut; the others are
# scaled to the same share of players: about 4 / 8 rebounds, 2.5 / 5 assists, 15 / 30 PRA.
TIER_THRESHOLDS: dict[str, tuple[float, float]] = {
    "PTS": (10.0, 20.0),
    "REB": (4.0, 8.0),
    "AST": (2.5, 5.0),
    "PRA": (15.0, 30.0),
}


def tier_labels(form: np.ndarray, target: str = "PTS") -> np.ndarray:
    """Tier of each row from its past average `form`; 'unknown' where there is no history."""
    check_target(target)
    rotation_from, star_from = TIER_THRESHOLDS[target]
    labels = np.full(len(form), UNKNOWN, dtype=object)
    known = ~np.isnan(form)
    labels[known & (form < rotation_from)] = BENCH
    labels[known & (form >= rotation_from)] = ROTATION
    labels[known & (form >= star_from)] = STAR
    return labels
