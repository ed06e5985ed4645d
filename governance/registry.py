"""The model registry's lifecycle, on aliases and version tags only (no deprecated stages).

Lifecycle of a version: none -> staging -> production -> archived (and archived -> production
again only through a rollback). It lives in two places kept in step by the moves
(governance/lifecycle.py): the aliases `staging`, `production` and `previous-production`
(each on at most one version) and a `lifecycle` tag on every version, with a `<state>_at`
timestamp of the last time the version entered each state. Nothing is ever deleted from an
archived version: its tags and its audit history stay.

This module reads the registry: the raw reads, and `RegistryView`, which reads each version
and the aliases once per command. Registration and the moves are commands of the lifecycle
object (governance/lifecycle.py); the moves are planned in governance/moves.py and their
outcomes named in governance/promotion.py; the invariants are checked by
governance/invariants.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sqlalchemy import Engine

from governance.intent_steps import Step
from nbaprops.settings import Settings
from nbaprops.tracking.naming import Recipe, SemVer, next_semver
from nbaprops.tracking.outage import StoreUnavailableError, is_absent, store_errors

MODEL_NAME: str = Settings.model_fields["registered_model"].default
STAGING = "staging"
PRODUCTION = "production"
PREVIOUS_PRODUCTION = "previous-production"
ALIASES: tuple[str, ...] = (STAGING, PRODUCTION, PREVIOUS_PRODUCTION)
LIFECYCLES: tuple[str, ...] = ("none", "staging", "production", "archived")
RECIPE_TAGS: tuple[str, ...] = ("target", "model_type", "feature_set_version")
CORE_TAGS: tuple[str, ...] = ("semver", "lifecycle", "registered_at", "run_id", *RECIPE_TAGS)


class RegistryError(Exception):
    """A registry request that cannot be carried out; the message says what to do."""


class UnknownVersionError(RegistryError, LookupError):
    """A version number or semver that the registered model does not have."""


class NotRegistrableError(RegistryError, ValueError):
    """A run that cannot be registered (unknown, or without a logged model)."""


class RegistrationIncompleteError(RegistryError):
    """Registration failed after the version was created; the version was removed."""


@dataclass(frozen=True)
class VersionInfo:
    """One registered version as the governance layer sees it."""

    name: str
    version: str
    semver: str
    lifecycle: str
    aliases: tuple[str, ...]
    run_id: str
    source: str
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def number(self) -> int:
        """The registry's version number as an int (for ordering)."""
        return int(self.version)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {**dataclasses.asdict(self), "aliases": list(self.aliases), "tags": dict(self.tags)}


def timestamp(now: dt.datetime) -> str:
    """The tag form of a time: ISO 8601 in UTC."""
    if now.tzinfo is None:
        raise ValueError(f"now = {now.isoformat()} has no timezone; pass an aware UTC datetime")
    return now.astimezone(dt.UTC).isoformat()


def _check_name(name: str) -> None:
    if not name or "'" in name:
        raise RegistryError(f"registered model name {name!r} must be non-empty and without quotes")


def aliases_of(client: MlflowClient, name: str) -> dict[str, str]:
    """The registered model's aliases (alias -> version); empty when the model is absent.

    A store that cannot answer raises StoreUnavailableError: it is never read as "no model".
    """
    try:
        with store_errors(client):
            model = client.get_registered_model(name)
    except MlflowException as exc:
        if not is_absent(exc):
            raise
        return {}
    return {alias: str(version) for alias, version in model.aliases.items()}


def _info(mv: ModelVersion, aliases: Mapping[str, str]) -> VersionInfo:
    version = str(mv.version)
    tags = dict(mv.tags)
    return VersionInfo(
        name=mv.name,
        version=version,
        semver=tags.get("semver", ""),
        lifecycle=tags.get("lifecycle", ""),
        aliases=tuple(a for a in ALIASES if aliases.get(a) == version),
        run_id=tags.get("run_id", mv.run_id or ""),
        source=mv.source or "",
        tags=tags,
    )


def list_versions(
    client: MlflowClient, name: str = MODEL_NAME, aliases: Mapping[str, str] | None = None
) -> list[VersionInfo]:
    """Every live version of the registered model, oldest first (paged, so never truncated).

    `aliases` (alias -> version) saves re-reading the registered model when already known.
    """
    _check_name(name)
    aliases = aliases_of(client, name) if aliases is None else aliases
    versions: list[ModelVersion] = []
    token = None
    while True:
        with store_errors(client):
            page = client.search_model_versions(
                f"name = '{name}'", max_results=1000, page_token=token
            )
        versions.extend(page)
        token = page.token
        if not token:
            break
    return sorted((_info(v, aliases) for v in versions), key=lambda v: v.number)


def get_version(
    client: MlflowClient,
    name: str,
    version: str | int,
    aliases: Mapping[str, str] | None = None,
) -> VersionInfo:
    """One version by number; UnknownVersionError naming the known ones otherwise (an
    unreachable store raises StoreUnavailableError instead: it is not an unknown version).

    `aliases` (alias -> version) saves re-reading the registered model when already known.
    """
    mv: ModelVersion | None = None
    if str(version).strip().isdigit():
        try:
            with store_errors(client):
                mv = client.get_model_version(name, str(version).strip())
        except MlflowException as exc:
            if not is_absent(exc):
                raise
    if mv is None or getattr(mv, "current_stage", "") == "Deleted_Internal":
        known = ", ".join(v.version for v in list_versions(client, name)) or "none yet"
        raise UnknownVersionError(
            f"{name} has no version {version!r} (versions: {known}); see `nbaprops registry list`"
        )
    return _info(mv, aliases_of(client, name) if aliases is None else aliases)


def resolve_version(client: MlflowClient, name: str, ref: str) -> VersionInfo:
    """A version by its number ('5') or its semver tag ('v1.0.2')."""
    return RegistryView(client, name).resolve(ref)


def version_by_alias(client: MlflowClient, name: str, alias: str) -> VersionInfo | None:
    """The version holding `alias`, or None."""
    return RegistryView(client, name).by_alias(alias)


class RegistryView:
    """The registered model as one command reads it: each version and the aliases read once.

    Reads are cached for the view's lifetime (one command). The command's own writes are
    noted step by step (`note`), so what it reads after a move is what the move wrote; after a
    failed or repaired move, `forget` drops the cache and the next read goes to the store.
    """

    def __init__(self, client: MlflowClient, name: str = MODEL_NAME) -> None:
        _check_name(name)
        self.client = client
        self.name = name
        self._aliases: dict[str, str] | None = None
        self._versions: dict[str, VersionInfo] = {}

    def aliases(self) -> dict[str, str]:
        """The registered model's aliases (alias -> version); empty when the model is absent."""
        if self._aliases is None:
            self._aliases = aliases_of(self.client, self.name)
        return dict(self._aliases)

    def version(self, number: str | int) -> VersionInfo:
        """One version by number (UnknownVersionError when the model has no such version)."""
        key = str(number).strip()
        if key not in self._versions:
            info = get_version(self.client, self.name, key, self.aliases())
            self._versions[info.version] = info
            return info
        return self._versions[key]

    def by_alias(self, alias: str) -> VersionInfo | None:
        """The version holding `alias`, or None."""
        target = self.aliases().get(alias)
        return None if target is None else self.version(target)

    def versions(self) -> list[VersionInfo]:
        """Every live version, oldest first (a fresh listing, remembered version by version)."""
        found = list_versions(self.client, self.name, self.aliases())
        self._versions.update((info.version, info) for info in found)
        return found

    def resolve(self, ref: str) -> VersionInfo:
        """A version by its number ('5') or its semver tag ('v1.0.2')."""
        ref = ref.strip()
        if ref.isdigit():
            return self.version(ref)
        for info in self.versions():
            if info.semver == ref:
                return info
        raise UnknownVersionError(
            f"{self.name} has no version {ref!r}; give a version number or a semver like "
            "v1.0.2 (see `nbaprops registry list`)"
        )

    def note(self, steps: Iterable[Step]) -> None:
        """Carry the applied steps of a move into the cache (tags set, aliases moved)."""
        aliases = self._aliases
        for step in steps:
            op = step["op"]
            if op == "set_tags" and step["version"] in self._versions:
                info = self._versions[step["version"]]
                tags = {**info.tags, **step["tags"]}
                self._versions[info.version] = replace(
                    info,
                    tags=tags,
                    semver=tags.get("semver", ""),
                    lifecycle=tags.get("lifecycle", ""),
                )
            elif aliases is None:
                continue
            elif op == "set_alias":
                aliases[step["alias"]] = step["version"]
            elif op == "delete_alias" and aliases.get(step["alias"]) == step["version"]:
                del aliases[step["alias"]]
        if aliases is not None:
            self._versions = {
                number: replace(info, aliases=tuple(a for a in ALIASES if aliases.get(a) == number))
                for number, info in self._versions.items()
            }

    def forget(self) -> None:
        """Drop every cached read: the registry changed in ways this view did not note."""
        self._aliases = None
        self._versions.clear()


def recipe_of_tags(tags: Mapping[str, str]) -> Recipe | None:
    """The recipe (target, model type, feature set version) that tags name, if all are set."""
    if not all(tags.get(t) for t in RECIPE_TAGS):
        return None
    return Recipe(tags["target"], tags["model_type"], tags["feature_set_version"])


def next_version_semver(versions: Iterable[VersionInfo], recipe: Recipe) -> SemVer:
    """The semver of a new version: bumped against the latest registered version's recipe."""
    latest = [v for v in versions if v.semver]
    if not latest:
        return next_semver(None, None, recipe)
    last = latest[-1]
    return next_semver(SemVer.parse(last.semver), recipe_of_tags(last.tags), recipe)


def register_run(
    client: MlflowClient,
    engine: Engine,
    run_id: str,
    now: dt.datetime,
    actor: str,
    name: str = MODEL_NAME,
) -> VersionInfo:
    """One-shot form of `Lifecycle.register`, for scripts and test setup: one command."""
    from governance.lifecycle import Lifecycle  # the lifecycle is built on this module

    return Lifecycle(client, engine, name, now, actor).register(run_id)


__all__ = [
    "ALIASES",
    "CORE_TAGS",
    "LIFECYCLES",
    "MODEL_NAME",
    "PREVIOUS_PRODUCTION",
    "PRODUCTION",
    "STAGING",
    "NotRegistrableError",
    "RegistrationIncompleteError",
    "RegistryError",
    "RegistryView",
    "StoreUnavailableError",
    "UnknownVersionError",
    "VersionInfo",
    "aliases_of",
    "get_version",
    "list_versions",
    "next_version_semver",
    "recipe_of_tags",
    "register_run",
    "resolve_version",
    "timestamp",
    "version_by_alias",
]
