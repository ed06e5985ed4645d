"""Fixtures of the state-database tests: the shared throwaway PostgreSQL cluster."""

from __future__ import annotations

try:  # the cluster fixture is moving to tests/support; use whichever exists
    from tests.support.postgres import (  # type: ignore[import-not-found,unused-ignore]
        PostgresServer,
        postgres_server,
        postgres_url,
    )
except ImportError:
    from tests.postgres.conftest import (  # type: ignore[no-redef,unused-ignore]
        PostgresServer,
        postgres_server,
        postgres_url,
    )

__all__ = ["PostgresServer", "postgres_server", "postgres_url"]
