"""`nbaprops data fetch` against a local server replaying recorded NBA.com stats and The
Odds API responses: fills an empty folder with a week, is idempotent, retries a 429, and
exits 2 naming the variable on a refused key (which never appears in any output)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from nbaprops.data.csv_source import CsvSource
from tests.support.http_replay import ReplayServer

FIXTURES = Path(__file__).parents[1] / "fixtures" / "fetch"
KEY = "test-key-4f9c"
WEEK = ("--since", "2025-01-13", "--until", "2025-01-19", "--today", "2025-01-25")


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer(FIXTURES / "nba_stats.json", FIXTURES / "odds_api.json") as replay:
        yield replay


def fetch(server: ReplayServer, folder: Path, *args: str) -> Result:
    from jobs.cli.main import cli

    env = {
        "NBAPROPS_HOME": str(folder.parent / "state"),
        "NBAPROPS_DATA": str(folder),
        "NBAPROPS_FETCH_SOURCES": "nba,odds",
        "NBAPROPS_NBA_STATS_URL": f"{server.url}/stats",
        "NBAPROPS_ODDS_API_URL": server.url,
        "NBAPROPS_ODDS_API_KEY": KEY,
        "NBAPROPS_FETCH_MIN_INTERVAL": "0",
    }
    return CliRunner().invoke(cli, ["data", "fetch", *args], env=env, catch_exceptions=False)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_fetch_fills_an_empty_folder_with_a_week(server: ReplayServer, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    result = fetch(server, folder, *WEEK)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["games_rows"] == 84 and summary["schedule_rows"] == 14
    assert summary["x_requests_remaining"] == "485"  # the last answer's quota header
    feed = CsvSource(folder, target="PTS").load()
    assert feed.games["game_date"].dt.day.tolist() == sorted(feed.games["game_date"].dt.day)
    assert feed.games["game_date"].nunique() == 7 and len(feed.games) == 84
    assert feed.schedule is not None and len(feed.schedule) == 14
    pts = feed.lines[feed.lines["market"] == "PTS"]
    assert len(pts) == 84 and set(pts["player_id"]) <= set(feed.games["player_id"])
    assert KEY not in result.output
    assert all(KEY.encode() not in data for data in snapshot(folder).values())


def test_fetching_twice_gives_the_same_folder(server: ReplayServer, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    assert fetch(server, folder, *WEEK).exit_code == 0
    first = snapshot(folder)
    assert fetch(server, folder, *WEEK).exit_code == 0
    assert snapshot(folder) == first


def test_a_429_then_200_is_retried(server: ReplayServer, tmp_path: Path) -> None:
    server.queue("/stats/leaguegamelog", 429, **{"Retry-After": "0"})
    result = fetch(server, tmp_path / "data", *WEEK)
    assert result.exit_code == 0, result.output
    assert [p for p, _ in server.requests].count("/stats/leaguegamelog") == 2


def test_a_401_exits_2_naming_the_variable(server: ReplayServer, tmp_path: Path) -> None:
    server.queue("/v4/historical/sports/basketball_nba/events", 401, {"message": "bad key"})
    result = fetch(server, tmp_path / "data", *WEEK)
    assert result.exit_code == 2
    assert "NBAPROPS_ODDS_API_KEY" in result.stderr
    assert KEY not in result.output
