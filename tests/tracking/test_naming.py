"""Naming conventions: experiments, runs and semver bumps."""

from __future__ import annotations

import datetime as dt

import pytest

from nbaprops.tracking.naming import (
    Recipe,
    SemVer,
    key_param,
    next_semver,
    run_name,
)


def test_run_name_matches_the_guide_example() -> None:
    key = key_param("xgboost", {"max_depth": 6})
    name = run_name(dt.date(2025, 10, 14), "xgboost", "core", key)
    assert name == "20251014_xgb_core_depth6"


@pytest.mark.parametrize(
    ("model", "params", "expected"),
    [
        ("xgboost", {"max_depth": 4}, "depth4"),
        ("lightgbm", {"num_leaves": 63}, "leaves63"),
        ("ensemble", {}, "members2"),
        ("other", {}, "default"),
    ],
)
def test_key_param(model: str, params: dict[str, int], expected: str) -> None:
    assert key_param(model, params) == expected


def test_semver_round_trip_and_rejects_bad_tags() -> None:
    assert str(SemVer.parse("v1.2.3")) == "v1.2.3"
    with pytest.raises(ValueError, match=r"v<major>\.<minor>\.<patch>"):
        SemVer.parse("1.2")


BASE = Recipe("PTS", "xgboost", "fs-full-v1")


@pytest.mark.parametrize(
    ("previous", "recipe", "expected"),
    [
        (None, BASE, "v1.0.0"),
        ("v1.0.0", BASE, "v1.0.1"),
        ("v1.0.4", Recipe("PTS", "lightgbm", "fs-full-v1"), "v1.1.0"),
        ("v1.3.2", Recipe("PTS", "xgboost", "fs-full-v2"), "v1.4.0"),
        ("v1.3.2", Recipe("REB", "xgboost", "fs-full-v1"), "v2.0.0"),
    ],
)
def test_next_semver_rule(previous: str | None, recipe: Recipe, expected: str) -> None:
    prev = SemVer.parse(previous) if previous else None
    assert str(next_semver(prev, BASE if prev else None, recipe)) == expected
