"""The state database engine: one pooled engine per URL, SQLite or PostgreSQL.

SQLite in the state folder by default, PostgreSQL when NBAPROPS_DATABASE_URL says so; engines
are created on demand (never at import time).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from nbaprops.settings import Settings


@lru_cache(maxsize=8)
def engine_for_url(url: str) -> sa.Engine:
    """A pooled engine for `url`; SQLite waits up to 30 s for a lock instead of failing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return sa.create_engine(url, connect_args={"timeout": 30})
    return sa.create_engine(url, pool_pre_ping=True)


def state_engine(settings: Settings) -> sa.Engine:
    """The engine of the configured state database."""
    settings.home.mkdir(parents=True, exist_ok=True)
    return engine_for_url(settings.resolved_database_url)


def is_postgres(engine: sa.Engine) -> bool:
    """True when the state database is PostgreSQL (advisory locks instead of file locks)."""
    return engine.dialect.name == "postgresql"
