"""Schema migrations of the state database: Alembic revisions with a recorded version.

`upgrade` brings a database to the newest revision this code knows (creating it from empty, or
adopting a release-0.1.0 database in place), serialised across processes: a file lock beside a
SQLite file, an advisory lock on PostgreSQL. The version lives in its own table,
`nbaprops_schema_version`, so it never collides with MLflow's `alembic_version` when both
share one PostgreSQL database. A database stamped by a newer release is refused with
`SchemaTooNewError` rather than run by code that does not know its tables.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from filelock import FileLock
from sqlalchemy.engine import make_url

VERSION_TABLE = "nbaprops_schema_version"
MIGRATIONS = Path(__file__).parent / "migrations"
_ADVISORY_KEY = 0x6E62_6170  # "nbap": one key for every nbaprops process on the cluster
_READY: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


class SchemaTooNewError(RuntimeError):
    """The state database was upgraded by a newer nbaprops than the one running."""


def _script() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head_revision() -> str:
    """The newest schema revision this code knows."""
    head = _script().get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS}")
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The revision recorded in the database (None for an empty or 0.1.0 database)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def _describe(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _refuse_unknown(engine: sa.Engine, revision: str | None, script: ScriptDirectory) -> None:
    if revision is None:
        return
    try:
        script.get_revision(revision)
    except CommandError as exc:
        raise SchemaTooNewError(
            f"the state database {_describe(engine)} is at schema revision {revision!r}, which "
            f"this nbaprops does not know (it knows up to {head_revision()!r}): a newer release "
            "upgraded it. Run that release (or newer), or point NBAPROPS_DATABASE_URL at "
            "another database; nothing was changed."
        ) from exc


@contextmanager
def _migration_lock(engine: sa.Engine) -> Iterator[None]:
    """Serialise migrations of one database across processes."""
    url = make_url(str(engine.url))
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{url.database}.migrate.lock", timeout=120):
            yield
    else:
        yield


def upgrade(engine: sa.Engine) -> str:
    """Apply every pending migration and return the revision the database is now at."""
    script = _script()
    with _migration_lock(engine), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        current = context.get_current_revision()
        _refuse_unknown(engine, current, script)

        def steps(rev: Any, _context: Any) -> Any:
            return script._upgrade_revs("head", rev)

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with EnvironmentContext(config, script, fn=steps, destination_rev="head") as env:
            env.configure(connection=conn, version_table=VERSION_TABLE)
            env.run_migrations()
    _READY.add(engine)
    return head_revision()


def ensure_state_schema(engine: sa.Engine) -> None:
    """Upgrade the database once per engine and process (what every table owner calls)."""
    if engine not in _READY:
        upgrade(engine)
