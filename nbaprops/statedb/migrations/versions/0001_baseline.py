"""Baseline: the tables of release 0.1.0, created when missing and adopted in place when present.

Revision ID: 0001_baseline
Revises: (none)

Release 0.1.0 created job_history, scheduler_heartbeat, audit_log (append-only triggers),
live_predictions and registry_intents with `create_all` and recorded no version. This
revision creates whichever of them is missing, adds missing indexes and the triggers, and
leaves existing tables and their rows untouched, so a 0.1.0 state database upgrades in place.
Columns are spelt out here (not imported from the table owners) so the revision never changes
when the code does; tests/statedb checks they still match the tables the code uses.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

_APPEND_ONLY = "audit_log is append-only: record a new entry instead"


def _tables(metadata: sa.MetaData) -> None:
    """The 0.1.0 tables, column for column (timestamps are naive UTC)."""
    utc = sa.DateTime(timezone=False)
    sa.Table(
        "job_history", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job", sa.String(100), nullable=False),
        sa.Column("run_for", sa.Date, nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("scheduled_at", utc, nullable=True),
        sa.Column("started_at", utc, nullable=False),
        sa.Column("ended_at", utc, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("summary", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Index("ix_job_history_job_id", "job", "id"),
        sa.Index("ix_job_history_status", "status"),
    )  # fmt: skip
    sa.Table(
        "scheduler_heartbeat", metadata,
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("beat_at", utc, nullable=False),
        sa.Column("started_at", utc, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
    )  # fmt: skip
    sa.Table(
        "audit_log", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", utc, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("version", sa.String(50), nullable=True),
        sa.Column("from_state", sa.String(50), nullable=True),
        sa.Column("to_state", sa.String(50), nullable=True),
        sa.Column("decision", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Index("ix_audit_log_at", "at"),
        sa.Index("ix_audit_log_model_version", "model_name", "version"),
    )  # fmt: skip
    sa.Table(
        "live_predictions", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("made_for", sa.Date, nullable=False, index=True),
        sa.Column("player_id", sa.BigInteger, nullable=False),
        sa.Column("player_name", sa.String(200), nullable=False),
        sa.Column("market", sa.String(8), nullable=False),
        sa.Column("line", sa.Float, nullable=True),
        sa.Column("prediction", sa.Float, nullable=False),
        sa.Column("p_over", sa.Float, nullable=True),
        sa.Column("model_version", sa.String(32), nullable=False, index=True),
        sa.Column("actual", sa.Float, nullable=True),
        sa.Column("settled_on", sa.Date, nullable=True),
        sa.UniqueConstraint("made_for", "player_id", "market", "model_version",
                            name="uq_live_pred"),
    )  # fmt: skip
    sa.Table(
        "registry_intents", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("version", sa.String(50), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("steps", sa.Text, nullable=False),
        sa.Column("completed_at", utc, nullable=True),
    )  # fmt: skip


def _triggers(dialect: str) -> list[str]:
    """DDL that makes audit_log append-only in the database itself (idempotent)."""
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS audit_log_no_{verb.lower()} BEFORE {verb} ON "
            f"audit_log BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            for verb in ("UPDATE", "DELETE")
        ]
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END; $$ LANGUAGE plpgsql",
            "CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE "
            "ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
        ]
    return []


def upgrade() -> None:
    """Create what is missing of the 0.1.0 schema; keep every existing table and row."""
    bind = op.get_bind()
    metadata = sa.MetaData()
    _tables(metadata)
    inspector = sa.inspect(bind)
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):
            table.create(bind)
            continue
        present = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in present:
                index.create(bind)
    for ddl in _triggers(bind.dialect.name):
        bind.exec_driver_sql(ddl)
