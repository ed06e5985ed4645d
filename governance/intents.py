"""Write-intent-then-move: every registry change is a planned list of steps, stored first.

A registry move touches several MLflow objects (aliases and tags of two or three versions)
and no MLflow call spans them in one transaction. So a move is planned as a list of
idempotent steps, written to the `registry_intents` table of the project's state database
before the first MLflow write, applied in order, then completed: the audit rows the intent
carries are inserted and the intent is marked complete in ONE database transaction, so the
trail records each move exactly once. A process killed half-way leaves an incomplete intent;
`repair_pending` (run at the start of every governance command) re-applies all of its steps
(each step is idempotent) and completes it, adding a `repair` audit row that says so.

Steps are plain JSON objects:
  {"op": "set_tags", "version": "5", "tags": {...}}        set version tags
  {"op": "set_alias", "alias": "production", "version": "5"}
  {"op": "delete_alias", "alias": "staging", "version": "5"}  only if it points at 5
  {"op": "register", "registration_id": ..., "source": ..., "run_id": ..., "tags": {...}}
                                              create the version unless one carries the id
  {"op": "audit", "entry": {...}}             an audit row, inserted when the intent completes

Callers must serialise governance commands (the jobs layer's lock); the conditional
completion below still keeps the audit rows exactly-once if two processes race on a repair.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode
from mlflow.tracking import MlflowClient
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
    update,
)

from governance.audit import AuditEntry, AuditTrail, UtcDateTime, audit_entry, audit_log

Step = dict[str, Any]
StepHook = Callable[[int], None]

REGISTRATION_TAG = "registration_id"

metadata = MetaData()

registry_intents = Table(
    "registry_intents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("version", String(50), nullable=True),
    Column("kind", String(40), nullable=False),
    Column("steps", Text, nullable=False),
    Column("completed_at", UtcDateTime(), nullable=True),
)


class IntentError(RuntimeError):
    """A registry intent that cannot be applied; the message says what to do."""


@dataclass(frozen=True)
class Intent:
    """One planned registry move as stored; `completed_at` is None until it is complete."""

    id: int
    created_at: dt.datetime
    model_name: str
    version: str | None
    kind: str
    steps: tuple[Step, ...]
    completed_at: dt.datetime | None = None


# --- building steps -------------------------------------------------------------------------


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


def _entry_from_step(step: Step, version: str | None) -> AuditEntry:
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


# --- the table ------------------------------------------------------------------------------


def ensure_schema(engine: Engine) -> None:
    """Create the intents table and the audit trail if missing (idempotent)."""
    AuditTrail(engine).ensure_schema()
    metadata.create_all(engine, tables=[registry_intents])


def write_intent(
    engine: Engine,
    now: dt.datetime,
    model_name: str,
    version: str | None,
    kind: str,
    steps: Sequence[Step],
) -> Intent:
    """Store a planned move before any of its steps touches the registry."""
    payload = json.dumps(list(steps), sort_keys=True, allow_nan=False)
    values = {
        "created_at": now,
        "model_name": model_name,
        "version": version,
        "kind": kind,
        "steps": payload,
    }
    with engine.begin() as conn:
        key = conn.execute(registry_intents.insert().values(**values)).inserted_primary_key
    assert key is not None
    return Intent(int(key[0]), now.astimezone(dt.UTC), model_name, version, kind, tuple(steps))


def pending_intents(engine: Engine, model_name: str | None = None) -> list[Intent]:
    """Incomplete intents, oldest first (optionally of one registered model)."""
    query = select(registry_intents).where(registry_intents.c.completed_at.is_(None))
    if model_name is not None:
        query = query.where(registry_intents.c.model_name == model_name)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(registry_intents.c.id)).mappings().all()
    return [
        Intent(
            id=row["id"],
            created_at=row["created_at"],
            model_name=row["model_name"],
            version=row["version"],
            kind=row["kind"],
            steps=tuple(json.loads(row["steps"])),
            completed_at=row["completed_at"],
        )
        for row in rows
    ]


# --- applying -------------------------------------------------------------------------------


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
        if _alias_target(client, name, step["alias"]) != step["version"]:
            client.set_registered_model_alias(name, step["alias"], step["version"])
    elif op == "delete_alias":
        if _alias_target(client, name, step["alias"]) == step["version"]:
            client.delete_registered_model_alias(name, step["alias"])
    elif op == "register":
        existing = find_registration(client, name, step["registration_id"])
        if existing is not None:
            return str(existing.version)
        ensure_registered_model(client, name)
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


def _insert_audit(conn: Connection, entry: AuditEntry) -> None:
    """Insert one audit row inside the caller's transaction (same encoding as AuditTrail)."""
    decision = None
    if entry.decision is not None:
        decision = json.dumps(dict(entry.decision), sort_keys=True, allow_nan=False)
    conn.execute(
        audit_log.insert().values(
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            model_name=entry.model_name,
            version=entry.version,
            from_state=entry.from_state,
            to_state=entry.to_state,
            decision=decision,
            reason=entry.reason,
        )
    )


def complete_intent(
    engine: Engine,
    intent: Intent,
    now: dt.datetime,
    version: str | None = None,
    extra: Sequence[AuditEntry] = (),
) -> bool:
    """Insert the intent's audit rows (plus `extra`) and mark it complete, in one transaction.

    Returns False (and records nothing) when another process completed it first.
    """
    entries = [_entry_from_step(s, version) for s in intent.steps if s["op"] == "audit"]
    with engine.begin() as conn:
        done = conn.execute(
            update(registry_intents)
            .where(registry_intents.c.id == intent.id, registry_intents.c.completed_at.is_(None))
            .values(completed_at=now, version=version or intent.version)
        )
        if done.rowcount != 1:
            return False
        for entry in (*entries, *extra):
            _insert_audit(conn, entry)
    return True


def abandon_intent(engine: Engine, intent: Intent, now: dt.datetime) -> None:
    """Close an intent whose effects were undone, without recording any audit row."""
    with engine.begin() as conn:
        conn.execute(
            update(registry_intents)
            .where(registry_intents.c.id == intent.id, registry_intents.c.completed_at.is_(None))
            .values(completed_at=now)
        )


def apply_steps(
    client: MlflowClient, intent: Intent, after_step: StepHook | None = None
) -> str | None:
    """Apply every registry step of an intent in order; returns the version it is about.

    `after_step(n)` runs after the n-th applied step (1-based): a fault-injection hook.
    """
    version = intent.version
    applied = 0
    for step in intent.steps:
        if step["op"] == "audit":
            continue
        created = apply_step(client, intent.model_name, step)
        version = created or version
        applied += 1
        if after_step is not None:
            after_step(applied)
    return version


def run_intent(
    client: MlflowClient,
    engine: Engine,
    now: dt.datetime,
    model_name: str,
    version: str | None,
    kind: str,
    steps: Sequence[Step],
    after_step: StepHook | None = None,
) -> Intent:
    """Write the intent, apply its steps, complete it; returns the completed intent."""
    intent = write_intent(engine, now, model_name, version, kind, steps)
    resolved = apply_steps(client, intent, after_step)
    complete_intent(engine, intent, now, resolved)
    return replace(intent, version=resolved, completed_at=now)


def repair_pending(
    client: MlflowClient, engine: Engine, now: dt.datetime, actor: str = "repair"
) -> list[Intent]:
    """Complete every incomplete intent (re-applying its steps) and return those repaired.

    Each repair adds a `repair` audit row beside the rows the intent carried.
    """
    ensure_schema(engine)
    repaired = []
    for intent in pending_intents(engine):
        try:
            version = apply_steps(client, intent)
        except MlflowException as exc:
            raise IntentError(
                f"cannot complete registry intent #{intent.id} ({intent.kind} of "
                f"{intent.model_name} version {intent.version}): {exc.message}; fix the "
                "registry (see `nbaprops registry list`) and run the command again"
            ) from exc
        note = audit_entry(
            now,
            actor=actor,
            action="repair",
            model_name=intent.model_name,
            version=version,
            reason=(
                f"completed intent #{intent.id} ({intent.kind}) written at "
                f"{intent.created_at.isoformat()} and interrupted before it finished"
            ),
        )
        if complete_intent(engine, intent, now, version, extra=[note]):
            repaired.append(replace(intent, version=version, completed_at=now))
    return repaired


__all__ = [
    "Intent",
    "IntentError",
    "Step",
    "StepHook",
    "abandon_intent",
    "apply_step",
    "apply_steps",
    "audit_step",
    "complete_intent",
    "delete_alias",
    "ensure_registered_model",
    "ensure_schema",
    "find_registration",
    "pending_intents",
    "register_step",
    "registry_intents",
    "repair_pending",
    "run_intent",
    "set_alias",
    "set_tags",
    "write_intent",
]
