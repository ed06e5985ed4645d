"""Leakage-proof features: every value of a row comes from games strictly before its date."""

from nbaprops.features.build import KEY_COLUMNS, FeatureFrame, build_features
from nbaprops.features.catalog import (
    FEATURE_DEFINITIONS_VERSION,
    FEATURE_SETS,
    TIERS,
    FeatureError,
    FeatureSpec,
    feature_catalog,
    feature_version,
    select_specs,
)
from nbaprops.features.leakage import LeakageError, assert_past_only, scramble_from
from nbaprops.features.tiers import TIER_LABELS, TIER_THRESHOLDS, tier_labels

__all__ = [
    "FEATURE_DEFINITIONS_VERSION",
    "FEATURE_SETS",
    "KEY_COLUMNS",
    "TIERS",
    "TIER_LABELS",
    "TIER_THRESHOLDS",
    "FeatureError",
    "FeatureFrame",
    "FeatureSpec",
    "LeakageError",
    "assert_past_only",
    "build_features",
    "feature_catalog",
    "feature_version",
    "scramble_from",
    "select_specs",
    "tier_labels",
]
