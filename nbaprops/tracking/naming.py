"""Naming conventions for experiments, runs and model versions, as small pure functions.

Experiment: ``{phase}_{model_type}_{feature_set}_{description}``.
Run:        ``{yyyymmdd}_{model}_{features}_{key_param}``, e.g. ``20251014_xgb_core_depth6``.
Version:    semver ``v{major}.{minor}.{patch}`` bumped against the latest registered version:
            major when the prop target changes (a different product), minor when the model type
            or the feature-set version changes (a different recipe), patch for a retrain of the
            same recipe (new data or new hyper-parameters).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MODEL_ABBREVIATIONS: dict[str, str] = {"xgboost": "xgb", "lightgbm": "lgbm", "ensemble": "ens"}
_SLUG_RE = re.compile(r"[^a-z0-9]+")
_SEMVER_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


def slug(text: str) -> str:
    """Lower-case, alphanumeric-and-dash form of a free-text name part."""
    return _SLUG_RE.sub("-", text.lower()).strip("-") or "none"


def key_param(model_type: str, params: Mapping[str, Any]) -> str:
    """The one hyper-parameter that tells runs of a model type apart at a glance."""
    if model_type == "xgboost":
        return f"depth{params.get('max_depth', 'auto')}"
    if model_type == "lightgbm":
        return f"leaves{params.get('num_leaves', 'auto')}"
    if model_type == "ensemble":
        return f"members{params.get('n_members', 2)}"
    return "default"


def run_name(day: dt.date, model_type: str, feature_set: str, key: str) -> str:
    """``{yyyymmdd}_{model}_{features}_{key_param}`` for a run trained on `day`."""
    model = MODEL_ABBREVIATIONS.get(model_type, slug(model_type))
    return f"{day:%Y%m%d}_{model}_{slug(feature_set)}_{slug(key)}"


@dataclass(frozen=True, order=True)
class SemVer:
    """A model version's semantic version."""

    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}"

    @classmethod
    def parse(cls, text: str) -> SemVer:
        """Parse ``v1.2.3``; raise ValueError with the expected form otherwise."""
        match = _SEMVER_RE.match(text.strip())
        if not match:
            raise ValueError(f"version tag {text!r} is not of the form v<major>.<minor>.<patch>")
        return cls(*(int(g) for g in match.groups()))


@dataclass(frozen=True)
class Recipe:
    """What identifies a model's recipe for versioning purposes."""

    target: str
    model_type: str
    feature_set_version: str


def next_semver(previous: SemVer | None, previous_recipe: Recipe | None, recipe: Recipe) -> SemVer:
    """The semver of a new version, following the rule in this module's docstring."""
    if previous is None or previous_recipe is None:
        return SemVer(1, 0, 0)
    if recipe.target != previous_recipe.target:
        return SemVer(previous.major + 1, 0, 0)
    if (recipe.model_type, recipe.feature_set_version) != (
        previous_recipe.model_type,
        previous_recipe.feature_set_version,
    ):
        return SemVer(previous.major, previous.minor + 1, 0)
    return SemVer(previous.major, previous.minor, previous.patch + 1)
