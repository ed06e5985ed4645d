"""Digests that pin a backtest to what it measured: the recipe, the betting rules, the data.

Governance judges a version on a backtest only when that backtest replayed the version's own
recipe (model type, parameters, calibration, feature set, target) under the standard betting
rules on the data the rival was judged on. Each backtest carries the three digests as tags;
`governance.evidence` ignores a run whose digests do not match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

#: Betting rules of a backtest that governance accepts as evidence (BacktestSpec's defaults).
STANDARD_BETTING: Mapping[str, Any] = {
    "edge_threshold": 0.02,
    "kelly_multiplier": 0.25,
    "kelly_cap": 0.02,
    "line_shopping": True,
    "min_history_games": 3,
}
RECIPE_TAG = "recipe_digest"
BETTING_TAG = "betting_digest"
DATA_TAG = "data_digest"


def _digest(payload: Mapping[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def recipe_digest(
    model_type: str, params: Mapping[str, Any], calibration: str, feature_set: str, target: str
) -> str:
    """Digest of a training recipe; the same for a version and a backtest that replays it."""
    return _digest(
        {
            "model_type": model_type,
            "params": dict(params),
            "calibration": calibration,
            "feature_set": feature_set,
            "target": target,
        }
    )


def betting_digest(
    edge_threshold: float,
    kelly_multiplier: float,
    kelly_cap: float,
    line_shopping: bool,
    min_history_games: int,
) -> str:
    """Digest of the betting rules a backtest used."""
    return _digest(
        {
            "edge_threshold": float(edge_threshold),
            "kelly_multiplier": float(kelly_multiplier),
            "kelly_cap": float(kelly_cap),
            "line_shopping": bool(line_shopping),
            "min_history_games": int(min_history_games),
        }
    )


def standard_betting_digest() -> str:
    """Digest of STANDARD_BETTING: the only betting rules governance takes as evidence."""
    return betting_digest(**STANDARD_BETTING)
