"""Turn a feed into model-ready data once: features, segments, baseline and oracle predictions.

A backtest reuses one PreparedData across all its folds; every column here is past-only
except the target and the oracle (the generator's hidden truth, read for evaluation only).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from nbaprops.data.feed import Feed
from nbaprops.features import FEATURE_SETS, FeatureFrame, build_features
from nbaprops.features.market import MARKET_FEATURES, MARKET_TIER, market_features
from nbaprops.training.props import b2b_flags


@dataclass
class FeedDigest:
    """A feed's content digest, hashed when first read: hashing 1.7M lines costs about 0.35 s,
    and the scoring and drift jobs never read it (training and backtest runs tag it). Pickled
    as the digest alone, so a worker never receives the feed it was taken of."""

    feed: Feed | None
    value: str | None = None

    def get(self) -> str:
        """The digest, hashed on the first call."""
        if self.value is None:
            assert self.feed is not None, "a FeedDigest holds its feed until it is hashed"
            self.value = self.feed.digest
            self.feed = None
        return self.value

    def __getstate__(self) -> dict[str, Any]:
        return {"feed": None, "value": self.get()}


@dataclass(frozen=True)
class PreparedData:
    """Features and everything evaluation needs, positionally aligned row for row."""

    features: FeatureFrame
    segments: pd.DataFrame
    baseline: np.ndarray
    oracle: np.ndarray | None
    history_games: np.ndarray
    lines: pd.DataFrame
    target: str
    digest: FeedDigest = field(repr=False, compare=False)
    source: str

    @property
    def feed_digest(self) -> str:
        """Content digest of the feed the data was prepared from (dataset lineage)."""
        return self.digest.get()

    @property
    def X(self) -> pd.DataFrame:
        """Feature matrix."""
        return self.features.X.reset_index(drop=True)

    @property
    def y(self) -> np.ndarray:
        """Target values."""
        return np.asarray(self.features.y, dtype=float)

    @property
    def dates(self) -> pd.Series:
        """Game date of each row."""
        return self.segments["game_date"]


def prepare(feed: Feed, target: str, feature_set: str = "full") -> PreparedData:
    """Build features and evaluation columns for every row of the feed's game logs."""
    games = feed.games.reset_index(drop=True)
    features = build_features(games, target=target, feature_set=feature_set)
    if MARKET_TIER in FEATURE_SETS[feature_set]:
        features = with_market(features, feed.lines, target)
    keys = features.keys.reset_index(drop=True)
    segments = pd.DataFrame(
        {
            "game_date": keys["game_date"],
            "player_id": keys["player_id"],
            "player_name": games["player_name"].to_numpy(),
            "season": keys["season"].astype(str),
            "tier": keys["tier"].astype(str),
            "home": keys["home"].fillna(0).astype(int) if "home" in keys else 0,
        }
    )
    segments["b2b"] = b2b_flags(segments)
    order = segments.sort_values(["player_id", "game_date"])
    history = order.groupby("player_id").cumcount().reindex(segments.index).to_numpy()
    oracle = None
    if feed.truth is not None and f"true_mean_{target}" in feed.truth:
        truth = games[["game_date", "player_id"]].merge(
            feed.truth, on=["game_date", "player_id"], how="left"
        )
        oracle = truth[f"true_mean_{target}"].to_numpy(dtype=float)
    return PreparedData(
        features=features,
        segments=segments,
        baseline=keys["baseline"].to_numpy(dtype=float),
        oracle=oracle,
        history_games=history,
        lines=feed.lines,
        target=target,
        digest=FeedDigest(feed),
        source=feed.source,
    )


def with_market(features: FeatureFrame, lines: pd.DataFrame, target: str) -> FeatureFrame:
    """The frame plus the market features of its rows (opening lines only, see market.py)."""
    form_column = f"{target}_L15_EWMA"
    form = features.X[form_column].to_numpy(float) if form_column in features.X else np.nan
    extra = market_features(features.keys, np.broadcast_to(form, len(features.X)), lines, target)
    X = pd.concat([features.X, extra.set_axis(features.X.index)], axis=1)
    return replace(
        features,
        X=X,
        feature_names=(*features.feature_names, *MARKET_FEATURES),
        tiers={**features.tiers, **dict.fromkeys(MARKET_FEATURES, MARKET_TIER)},
    )
