"""The feature catalog: every feature's name, tier and the input columns it needs.

One table drives naming, the tier mapping, the feature sets and which features a user's data
switches off, so the version string below is the single thing to bump when a definition changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Bump whenever any feature's definition (window, formula, fallback) changes.
FEATURE_DEFINITIONS_VERSION = 1

Tier = Literal["core", "contextual", "temporal", "history", "market"]
TIERS: tuple[Tier, ...] = ("core", "contextual", "temporal", "history")

FEATURE_SETS: dict[str, tuple[Tier, ...]] = {
    "core": ("core",),
    "context": ("core", "contextual"),
    "full": ("core", "contextual", "temporal", "history"),
    # full plus the books' opening lines (nbaprops.features.market), added by prepare()
    "market": ("core", "contextual", "temporal", "history", "market"),
}

PROP_TARGETS: tuple[str, ...] = ("PTS", "REB", "AST", "PRA")
_TARGET_WORD = {"PTS": "points", "REB": "rebounds", "AST": "assists", "PRA": "pra"}
POSSESSION_COLUMNS: tuple[str, ...] = ("FGA", "FTA", "TOV")
# Share of free-throw attempts that end a possession, in possessions and true-shooting attempts.
FREE_THROW_WEIGHT = 0.44


class FeatureError(ValueError):
    """The games frame cannot be turned into features; the message says what to fix."""


@dataclass(frozen=True)
class FeatureSpec:
    """One feature: its column name, tier, the input columns it needs, and what it measures."""

    name: str
    tier: Tier
    needs: tuple[str, ...]
    description: str


def target_columns(target: str) -> tuple[str, ...]:
    """The game-log column a prop target is read from (build_features derives a missing PRA
    from PTS+REB+AST, so a PRA-only game log feeds the PRA target too)."""
    check_target(target)
    return (target,)


def check_target(target: str) -> None:
    """Raise FeatureError for a target that is not a known prop market."""
    if target not in PROP_TARGETS:
        raise FeatureError(f"unknown target {target!r}; choose one of {', '.join(PROP_TARGETS)}")


def feature_version(feature_set: str) -> str:
    """The version label of a feature set, e.g. 'fs-full-v1', logged with every model."""
    check_feature_set(feature_set)
    return f"fs-{feature_set}-v{FEATURE_DEFINITIONS_VERSION}"


def check_feature_set(feature_set: str) -> None:
    """Raise FeatureError for an unknown feature-set name."""
    if feature_set not in FEATURE_SETS:
        raise FeatureError(
            f"unknown feature set {feature_set!r}; choose one of {', '.join(FEATURE_SETS)}"
        )


def feature_catalog(target: str = "PTS") -> tuple[FeatureSpec, ...]:
    """Every feature for a target, in column order; names carry the target where it matters."""
    t = target_columns(target)
    word = _TARGET_WORD[target]
    return (
        FeatureSpec(f"{target}_L15_EWMA", "core", t, f"EWMA (span 15) of {target}, last 15 games"),
        FeatureSpec(f"{target}_L5_Mean", "core", t, f"mean {target} over the last 5 games"),
        FeatureSpec(
            f"{target}_Season_Mean",
            "core",
            t,
            f"season-to-date mean {target}; career-to-date before the season's first game",
        ),
        FeatureSpec(
            "USG_L15_EWMA",
            "core",
            ("FGA", "FTA", "TOV", "MIN"),
            "usage proxy (FGA + 0.44 FTA + TOV) per minute, EWMA of the last 15 games",
        ),
        FeatureSpec(
            "PSA_L15_EWMA",
            "core",
            ("PTS", "FGA", "FTA"),
            "points per shot attempt PTS / (FGA + 0.44 FTA), EWMA of the last 15 games",
        ),
        FeatureSpec(
            f"{target}_PER_MIN_L15_EWMA",
            "core",
            (*t, "MIN"),
            f"{target} per minute, EWMA of the last 15 games",
        ),
        FeatureSpec("Minutes_L5_Mean", "contextual", ("MIN",), "mean minutes, last 5 games"),
        FeatureSpec(
            "OPP_DRTG",
            "contextual",
            ("opponent", "PTS"),
            "opponent's points allowed per 100 possessions over its last 15 games, relative to "
            "the league over the last 30 game dates (per game without FGA/FTA/TOV)",
        ),
        FeatureSpec(
            "PACE_L15",
            "contextual",
            ("team", "opponent", *POSSESSION_COLUMNS),
            "mean of both teams' possessions per game over their last 15 games",
        ),
        FeatureSpec("rest_days", "contextual", (), "days since the previous game, capped at 10"),
        FeatureSpec("back_to_back", "contextual", (), "1 when the previous game was yesterday"),
        FeatureSpec("home", "contextual", ("home",), "1 at home, 0 away (known before tip-off)"),
        FeatureSpec("volatility_5game", "temporal", t, f"SD of {target} over the last 5 games"),
        FeatureSpec(
            f"trend_{word}",
            "temporal",
            t,
            f"least-squares slope of {target} per game over the last 10 games",
        ),
        FeatureSpec("games_in_season", "temporal", (), "games already played this season"),
        FeatureSpec("games_in_history", "history", (), "games already played, all seasons"),
    )


def select_specs(target: str, feature_set: str) -> tuple[FeatureSpec, ...]:
    """The catalog entries of one feature set ('core', 'context' or 'full')."""
    check_feature_set(feature_set)
    tiers = FEATURE_SETS[feature_set]
    return tuple(spec for spec in feature_catalog(target) if spec.tier in tiers)
