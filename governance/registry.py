"""The model registry's lifecycle, on aliases and version tags only (no deprecated stages).

Lifecycle of a version: none -> staging -> production -> archived (and archived -> production
again only through a rollback). It lives in two places kept in step by the moves
(governance/promotion.py): the aliases `staging`, `production` and `previous-production`
(each on at most one version) and a `lifecycle` tag on every version, with a `<state>_at`
timestamp of the last time the version entered each state. Nothing is ever deleted from an
archived version: its tags and its audit history stay.

Registration: `register_run` registers a training run's logged model (`models:/m-...`, from
the run's `model_uri` tag) as a new version created WITH its tags in one store transaction
(semver, lifecycle=none, registered_at, run_id, model_type, target, feature_set_version), then
records the `register` audit row. If anything fails after the version is created, the version
is DELETED (so no half-registered version ever looks valid and the semver is free again) and
RegistrationIncompleteError says what to fix; a process killed at that point leaves an intent
that the next command completes.

The lifecycle's invariants are checked by governance/invariants.py; the moves live in
governance/moves.py (planned) and governance/promotion.py (carried out).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sqlalchemy import Engine

from governance.audit import audit_entry
from governance.intent_steps import audit_step, register_step
from governance.intents import (
    abandon_intent,
    apply_steps,
    complete_intent,
    repair_pending,
    write_intent,
)
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
        return {
            "name": self.name,
            "version": self.version,
            "semver": self.semver,
            "lifecycle": self.lifecycle,
            "aliases": list(self.aliases),
            "run_id": self.run_id,
            "source": self.source,
            "tags": dict(self.tags),
        }


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


def list_versions(client: MlflowClient, name: str = MODEL_NAME) -> list[VersionInfo]:
    """Every live version of the registered model, oldest first (paged, so never truncated)."""
    _check_name(name)
    aliases = aliases_of(client, name)
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


def get_version(client: MlflowClient, name: str, version: str | int) -> VersionInfo:
    """One version by number; UnknownVersionError naming the known ones otherwise (an
    unreachable store raises StoreUnavailableError instead: it is not an unknown version)."""
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
    return _info(mv, aliases_of(client, name))


def resolve_version(client: MlflowClient, name: str, ref: str) -> VersionInfo:
    """A version by its number ('5') or its semver tag ('v1.0.2')."""
    ref = ref.strip()
    if ref.isdigit():
        return get_version(client, name, ref)
    for info in list_versions(client, name):
        if info.semver == ref:
            return info
    raise UnknownVersionError(
        f"{name} has no version {ref!r}; give a version number or a semver like v1.0.2 "
        "(see `nbaprops registry list`)"
    )


def version_by_alias(client: MlflowClient, name: str, alias: str) -> VersionInfo | None:
    """The version holding `alias`, or None."""
    target = aliases_of(client, name).get(alias)
    return None if target is None else get_version(client, name, target)


def _recipe(tags: Mapping[str, str]) -> Recipe | None:
    if not all(tags.get(t) for t in RECIPE_TAGS):
        return None
    return Recipe(tags["target"], tags["model_type"], tags["feature_set_version"])


def next_version_semver(client: MlflowClient, name: str, recipe: Recipe) -> SemVer:
    """The semver of a new version: bumped against the latest registered version's recipe."""
    latest = [v for v in list_versions(client, name) if v.semver]
    if not latest:
        return next_semver(None, None, recipe)
    last = latest[-1]
    return next_semver(SemVer.parse(last.semver), _recipe(last.tags), recipe)


def register_run(
    client: MlflowClient,
    engine: Engine,
    run_id: str,
    now: dt.datetime,
    actor: str,
    name: str = MODEL_NAME,
) -> VersionInfo:
    """Register a training run's logged model as a new version, tagged and audited."""
    _check_name(name)
    repair_pending(client, engine, now, actor)
    try:
        with store_errors(client):
            run = client.get_run(run_id)
    except MlflowException as exc:
        raise NotRegistrableError(
            f"no run {run_id!r} in the tracking store; copy a run id from `nbaprops compare`"
        ) from exc
    run_tags = run.data.tags
    source = run_tags.get("model_uri", "")
    if not source.startswith("models:/m-"):
        raise NotRegistrableError(
            f"run {run_id} has no logged model (tag model_uri = {source!r}); register a run "
            "made by `nbaprops train`"
        )
    recipe = _recipe(run_tags)
    if recipe is None:
        missing = ", ".join(t for t in RECIPE_TAGS if not run_tags.get(t))
        raise NotRegistrableError(f"run {run_id} lacks the tags {missing}; retrain it")
    semver = next_version_semver(client, name, recipe)
    tags = {
        "semver": str(semver),
        "lifecycle": "none",
        "registered_at": timestamp(now),
        "registered_by": actor,
        "run_id": run_id,
        "model_uri": source,
        "target": recipe.target,
        "model_type": recipe.model_type,
        "feature_set_version": recipe.feature_set_version,
    }
    entry = audit_entry(
        now,
        actor=actor,
        action="register",
        model_name=name,
        version=None,
        to_state="none",
        reason=f"registered run {run_id} ({source}) as {semver}",
    )
    steps = [register_step(uuid.uuid4().hex, source, run_id, tags), audit_step(entry)]
    intent = write_intent(engine, now, name, None, "register", steps)
    version = apply_steps(client, intent)
    assert version is not None
    try:
        complete_intent(engine, intent, now, version)
    except Exception as exc:
        client.delete_model_version(name, version)
        # With the state DB down this fails too; the next command's repair then completes
        # the registration (re-creating the version) instead.
        with contextlib.suppress(Exception):
            abandon_intent(engine, intent, now)
        raise RegistrationIncompleteError(
            f"registration of run {run_id} did not complete ({exc}); version {version} was "
            "removed. Check the state database (NBAPROPS_DATABASE_URL) and register again"
        ) from exc
    return get_version(client, name, version)


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
    "StoreUnavailableError",
    "UnknownVersionError",
    "VersionInfo",
    "aliases_of",
    "get_version",
    "list_versions",
    "next_version_semver",
    "register_run",
    "resolve_version",
    "timestamp",
    "version_by_alias",
]
