"""The project's own state database (job store, job history, audit trail, registry intents).

SQLite in the state folder by default, PostgreSQL when NBAPROPS_DATABASE_URL says so. One
engine per process, created on demand (never at import time). Its tables are created and
upgraded only by the Alembic migrations in `nbaprops/statedb/migrations` (see `migrate`).
"""

from nbaprops.statedb.engine import engine_for_url, is_postgres, state_engine
from nbaprops.statedb.migrate import (
    SchemaTooNewError,
    current_revision,
    ensure_state_schema,
    head_revision,
    upgrade,
)

__all__ = [
    "SchemaTooNewError",
    "current_revision",
    "engine_for_url",
    "ensure_state_schema",
    "head_revision",
    "is_postgres",
    "state_engine",
    "upgrade",
]
