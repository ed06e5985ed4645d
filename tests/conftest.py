"""Shared fixtures: isolated settings and a small synthetic feed (a few teams, two seasons)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbaprops.data.feed import Feed
from nbaprops.settings import Settings

#: Fixtures every suite may take: the session's one PostgreSQL cluster (`postgres_server`,
#: `postgres_url`).
pytest_plugins = ("tests.support.postgres",)

SMALL_SEASONS = ("2023-24", "2024-25")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding a `slow` test run first, each file's tests in their own order.

    `make test` hands whole files to two workers in collection order (`--dist loadfile`); the
    soak, minutes long and collected near the end, otherwise ran alone while the other worker
    sat idle. Only the order of files changes, never what runs or the order inside a file.
    """
    slow_files = {item.path for item in items if item.get_closest_marker("slow") is not None}
    # the soak, the longest by minutes, before the other slow files
    items.sort(key=lambda item: (item.path not in slow_files, item.path.name != "test_soak.py"))


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's MLflow or nbaprops environment."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_LOGGING_LEVEL", "WARNING")
    for name in list(__import__("os").environ):
        if name.startswith("NBAPROPS_"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a fresh state folder (SQLite stores inside) and the small feed."""
    return Settings(
        home=tmp_path / "state",
        teams=6,
        seasons=",".join(SMALL_SEASONS),
        seed=7,
        workers=2,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture(scope="session")
def small_feed() -> Feed:
    """Six teams over two seasons: about 5,000 player-games per season."""
    from nbaprops.data.synthetic import SyntheticSource

    return SyntheticSource(seed=7, teams=6, seasons=SMALL_SEASONS, market_efficiency=0.5).load()
