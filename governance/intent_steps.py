"""The steps of a registry intent: plain JSON objects, each idempotent when re-applied.

  {"op": "set_tags", "version": "5", "tags": {...}}        set version tags
  {"op": "set_alias", "alias": "production", "version": "5"}
  {"op": "delete_alias", "alias": "staging", "version": "5"}  only if it points at 5
  {"op": "register", "registration_id": ..., "source": ..., "run_id": ..., "tags": {...}}
                                              create the version unless one carries the id
  {"op": "audit", "entry": {...}}             an audit row, inserted when the intent completes

Builders here write them; `apply_step` carries one out against the MLflow registry (audit
steps are left to governance/intents.py, which records them when the intent completes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode
from mlflow.tracking import MlflowClient

from governance.audit import AuditEntry, audit_entry
from nbaprops.tracking.setup import fluent_store

Step = dict[str, Any]

REGISTRATION_TAG = "registration_id"


class IntentError(RuntimeError):
    """A registry intent that cannot be applied; the message says what to do."""


def set_tags(version: str, tags: Mapping[str, str]) -> Step:
    """A step that sets tags on a version (existing tags with other keys stay)."""
    return {"op": "set_tags", "version": str(version), "tags": {k: str(v) for k, v in tags.items()}}


def set_alias(alias: str, version: str) -> Step:
    """A step that points `alias` at `version` (moving it away from any other version)."""
    return {"op": "set_alias", "alias": alias, "version": str(version)}


def delete_alias(alias: str, version: str) -> Step:
    """A step that removes `alias` if, and only if, it still points at `version`."""
    return {"op": "delete_alias", "alias": alias, "version": str(version)}


def register_step(registration_id: str, source: str, run_id: str, tags: Mapping[str, str]) -> Step:
    """A step that creates a version of the logged model `source`, tagged `registration_id`."""
    return {
        "op": "register",
        "registration_id": registration_id,
        "source": source,
        "run_id": run_id,
        "tags": {**tags, REGISTRATION_TAG: registration_id},
    }


def audit_step(entry: AuditEntry) -> Step:
    """An audit row recorded when the intent completes; a None version means 'the new one'."""
    return {
        "op": "audit",
        "entry": {
            "at": entry.at.isoformat(),
            "actor": entry.actor,
            "action": entry.action,
            "model_name": entry.model_name,
            "version": entry.version,
            "from_state": entry.from_state,
            "to_state": entry.to_state,
            "decision": None if entry.decision is None else dict(entry.decision),
            "reason": entry.reason,
        },
    }


def entry_from_step(step: Step, version: str | None) -> AuditEntry:
    """The audit entry an audit step carries; `version` fills an entry written before it."""
    raw = step["entry"]
    return audit_entry(
        dt.datetime.fromisoformat(raw["at"]),
        actor=raw["actor"],
        action=raw["action"],
        model_name=raw["model_name"],
        version=raw["version"] if raw["version"] is not None else version,
        from_state=raw["from_state"],
        to_state=raw["to_state"],
        decision=raw["decision"],
        reason=raw["reason"],
    )


def ensure_registered_model(client: MlflowClient, name: str) -> None:
    """Create the registered model unless it exists (safe to call every time)."""
    try:
        client.create_registered_model(name, description="nbaprops player-props model")
    except MlflowException as exc:
        if exc.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
            raise


def find_registration(client: MlflowClient, name: str, registration_id: str) -> ModelVersion | None:
    """The version created by a registration step, if it exists (deleted ones do not)."""
    found = client.search_model_versions(
        f"name = '{name}' and tags.{REGISTRATION_TAG} = '{registration_id}'", max_results=2
    )
    return found[0] if found else None


def _alias_target(client: MlflowClient, name: str, alias: str) -> str | None:
    target = client.get_registered_model(name).aliases.get(alias)
    return None if target is None else str(target)


def apply_step(client: MlflowClient, name: str, step: Step) -> str | None:
    """Apply one step (idempotently); a register step returns the version it created or found."""
    op = step["op"]
    if op == "set_tags":
        for key, value in step["tags"].items():
            client.set_model_version_tag(name, step["version"], key, value)
    elif op == "set_alias":
        client.set_registered_model_alias(name, step["alias"], step["version"])
    elif op == "delete_alias":
        if _alias_target(client, name, step["alias"]) == step["version"]:
            client.delete_registered_model_alias(name, step["alias"])
    elif op == "register":
        existing = find_registration(client, name, step["registration_id"])
        if existing is not None:
            return str(existing.version)
        ensure_registered_model(client, name)
        # the SQL registry store looks the logged model up through MLflow's global store
        with fluent_store(client):
            created = client.create_model_version(
                name,
                source=step["source"],
                run_id=step["run_id"],
                tags=step["tags"],
                model_id=step["source"].removeprefix("models:/"),
            )
        return str(created.version)
    elif op != "audit":
        raise IntentError(
            f"unknown intent step {op!r}; this intent was written by a newer nbaprops"
        )
    return None


__all__ = [
    "REGISTRATION_TAG",
    "IntentError",
    "Step",
    "apply_step",
    "audit_step",
    "delete_alias",
    "ensure_registered_model",
    "entry_from_step",
    "find_registration",
    "register_step",
    "set_alias",
    "set_tags",
]
