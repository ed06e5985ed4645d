"""Write-intent-then-move: every registry change is a planned list of steps, stored first.

A registry move touches several MLflow objects (aliases and tags of two or three versions)
and no MLflow call spans them in one transaction. So a move is planned as a list of
idempotent steps, written to the `registry_intents` table of the project's state database
before the first MLflow write, applied in order, then completed: the audit rows the intent
carries are inserted and the intent is marked complete in ONE database transaction, so the
trail records each move exactly once. A process killed half-way leaves an incomplete intent;
`repair_pending` (run at the start of every governance command) re-applies all of its steps
(each step is idempotent) and completes it, adding a `repair` audit row that says so.

The steps themselves are built and applied in governance/intent_steps.py.

Callers must serialise governance commands (the jobs layer's lock); the conditional
completion below still keeps the audit rows exactly-once if two processes race on a repair.
"""

from __future__ import annotations

import datetime as dt
import json
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
    update,
)

from governance.audit import AuditEntry, UtcDateTime, audit_entry, insert_entry
from governance.intent_steps import IntentError, Step, apply_step, entry_from_step
from nbaprops.statedb.migrate import ensure_state_schema
from nbaprops.statedb.records import fetch_records

StepHook = Callable[[int], None]

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


_READY: weakref.WeakSet[Engine] = weakref.WeakSet()


def ensure_schema(engine: Engine) -> None:
    """Bring the state database (intents, audit trail) up to date, once per engine."""
    if engine in _READY:
        return
    ensure_state_schema(engine)
    _READY.add(engine)


def write_intent(
    engine: Engine,
    now: dt.datetime,
    model_name: str,
    version: str | None,
    kind: str,
    steps: Sequence[Step],
) -> Intent:
    """Store a planned move before any of its steps touches the registry."""
    ensure_schema(engine)
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
    query = query.order_by(registry_intents.c.id)
    return fetch_records(engine, query, Intent, {"steps": _decode_steps})


def _decode_steps(text: str) -> tuple[Step, ...]:
    """The stored JSON list of an intent's steps, as the tuple `Intent.steps` holds."""
    return tuple(json.loads(text))


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
    entries = [entry_from_step(s, version) for s in intent.steps if s["op"] == "audit"]
    with engine.begin() as conn:
        done = conn.execute(
            update(registry_intents)
            .where(registry_intents.c.id == intent.id, registry_intents.c.completed_at.is_(None))
            .values(completed_at=now, version=version or intent.version)
        )
        if done.rowcount != 1:
            return False
        for entry in (*entries, *extra):
            insert_entry(conn, entry)
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
    "StepHook",
    "abandon_intent",
    "apply_steps",
    "complete_intent",
    "ensure_schema",
    "pending_intents",
    "registry_intents",
    "repair_pending",
    "write_intent",
]
