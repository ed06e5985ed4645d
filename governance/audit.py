"""The audit trail: an append-only table of every governance action, on SQLite or PostgreSQL.

Works on SQLite and PostgreSQL 14+ (the append-only trigger uses CREATE OR REPLACE TRIGGER).
Each registry move (evaluate, promote, reject, force, rollback, archive, register, repair) is
recorded with who did it, the states it moved between, the decision (JSON) and the reason.
There is no update or delete here, and database triggers refuse them, so history cannot be
rewritten. Time comes in as a value: the caller stamps each entry (see `audit_entry`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.types import TypeDecorator

from governance.decision import Decision
from nbaprops.statedb.migrate import ensure_state_schema
from nbaprops.statedb.records import fetch_records

# The actions that are governance decisions on a version (what reports list as decisions).
DECISION_ACTIONS: tuple[str, ...] = (
    "evaluate",
    "promote",
    "reject",
    "force",
    "rollback",
    "archive",
)
# Every action the trail accepts: the decisions, plus registering a version and repairing an
# interrupted move.
ACTIONS: tuple[str, ...] = (*DECISION_ACTIONS, "register", "repair")


class AuditError(ValueError):
    """An audit entry that cannot be recorded as given; the message says what to fix."""


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp, stored as naive UTC so SQLite and PostgreSQL agree."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise AuditError(
                f"timestamp {value.isoformat()} has no timezone; pass an aware datetime, "
                "e.g. datetime.now(timezone.utc)"
            )
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


metadata = MetaData()

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(20), nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("version", String(50), nullable=True),
    Column("from_state", String(50), nullable=True),
    Column("to_state", String(50), nullable=True),
    Column("decision", Text, nullable=True),
    Column("reason", Text, nullable=False, default=""),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_model_version", "model_name", "version"),
)

# The append-only triggers live in the baseline migration (nbaprops/statedb/migrations).


@dataclass(frozen=True)
class AuditEntry:
    """One governance action as recorded; `id` is None until the trail stores it."""

    at: dt.datetime
    actor: str
    action: str
    model_name: str
    version: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    decision: Mapping[str, Any] | None = None
    reason: str = ""
    id: int | None = None

    @property
    def verdict(self) -> str | None:
        """The decision's verdict, when the entry carries a decision."""
        if self.decision is None:
            return None
        verdict = self.decision.get("verdict")
        return None if verdict is None else str(verdict)


def audit_entry(
    now: dt.datetime,
    *,
    actor: str,
    action: str,
    model_name: str,
    version: str | int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    decision: Decision | Mapping[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry:
    """Build an entry stamped at `now` (an aware datetime, converted to UTC) and check it."""
    if now.tzinfo is None:
        raise AuditError(
            f"now = {now.isoformat()} has no timezone; pass datetime.now(timezone.utc)"
        )
    as_dict = decision.to_dict() if isinstance(decision, Decision) else decision
    entry = AuditEntry(
        at=now.astimezone(dt.UTC),
        actor=actor,
        action=action,
        model_name=model_name,
        version=None if version is None else str(version),
        from_state=from_state,
        to_state=to_state,
        decision=None if as_dict is None else dict(as_dict),
        reason=reason,
    )
    _check(entry)
    return entry


def _check(entry: AuditEntry) -> None:
    """Refuse an entry the trail should not hold."""
    if entry.action not in ACTIONS:
        raise AuditError(f"action {entry.action!r} is not one of {', '.join(ACTIONS)}")
    if entry.at.tzinfo is None:
        raise AuditError("entry.at has no timezone; build entries with audit_entry(now, ...)")
    if not entry.actor:
        raise AuditError("actor is empty; name who acted (a user, 'scheduler', 'cli')")
    if not entry.model_name:
        raise AuditError("model_name is empty; name the registered model")


def insert_entry(conn: Connection, entry: AuditEntry) -> int:
    """Append one entry inside the caller's transaction and return its id.

    The registry's intents use it to write their audit rows in the same transaction that marks
    the intent complete; AuditTrail.record wraps it in a transaction of its own.
    """
    _check(entry)
    decision = None
    if entry.decision is not None:
        try:
            decision = json.dumps(dict(entry.decision), sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise AuditError(
                f"the decision cannot be stored as JSON ({exc}); pass Decision.to_dict() "
                "or a mapping of plain values without NaN"
            ) from exc
    result = conn.execute(
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
    key = result.inserted_primary_key
    if key is None or key[0] is None:
        raise AuditError("the database returned no id for the new audit entry")
    return int(key[0])


class AuditTrail:
    """Append and read the audit_log table through a SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ensure_schema(self) -> None:
        """Bring the state database (table, indexes, append-only triggers) up to date."""
        ensure_state_schema(self.engine)

    def record(self, entry: AuditEntry) -> int:
        """Append one entry and return its id; the entry's own id is ignored."""
        with self.engine.begin() as conn:
            return insert_entry(conn, entry)

    def since(self, when: dt.datetime | None = None, limit: int | None = None) -> list[AuditEntry]:
        """Entries at or after `when` (all with None), oldest first; with `limit`, the latest N."""
        query = select(audit_log)
        if when is not None:
            if when.tzinfo is None:
                raise AuditError("when has no timezone; pass an aware datetime")
            query = query.where(audit_log.c.at >= when)
        if limit is not None:
            if limit < 1:
                raise AuditError(f"limit = {limit}: ask for at least 1 entry, or None for all")
            query = query.order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
            return list(reversed(self._fetch(query)))
        return self._fetch(query.order_by(audit_log.c.at, audit_log.c.id))

    def for_version(self, model_name: str, version: str | int) -> list[AuditEntry]:
        """Every entry about one model version, oldest first."""
        query = (
            select(audit_log)
            .where(audit_log.c.model_name == model_name, audit_log.c.version == str(version))
            .order_by(audit_log.c.at, audit_log.c.id)
        )
        return self._fetch(query)

    def _fetch(self, query: Any) -> list[AuditEntry]:
        return fetch_records(self.engine, query, AuditEntry, {"decision": json.loads})


__all__ = [
    "ACTIONS",
    "DECISION_ACTIONS",
    "AuditEntry",
    "AuditError",
    "AuditTrail",
    "audit_entry",
    "audit_log",
    "metadata",
]
