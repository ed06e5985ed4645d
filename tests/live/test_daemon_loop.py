"""The daemon's morning on real-shaped data: with both sources pointed at the recorded-response
server, the fetch job then the ingest job run for three days in a row; each day's props are
predicted before tip-off and settled the next morning from the box scores fetched then."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import sqlalchemy as sa

from nbaprops.settings import Settings
from tests.live.conftest import Lab, fresh_home, live_settings, run_cli
from tests.support.http_replay import ReplayServer

FIXTURES = Path(__file__).parents[1] / "fixtures" / "fetch"
DAYS = [dt.date(2025, 1, 17), dt.date(2025, 1, 18), dt.date(2025, 1, 19)]


def job(settings: Settings, name: str, day: dt.date) -> dict:
    """`nbaprops jobs run NAME --date DAY --json` (in a child process, as the daemon runs it)."""
    result = run_cli(settings, "jobs", "run", name, "--date", str(day), "--json")
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "succeeded", outcome
    return dict(outcome["summary"])


QUERY = "SELECT made_for, SUM(actual IS NULL) FROM live_predictions GROUP BY made_for"


def open_predictions(home: Path) -> dict[str, int]:
    """How many stored predictions of each day are still unsettled."""
    engine = sa.create_engine(f"sqlite:///{home / 'state.db'}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text(QUERY)).all()
    engine.dispose()
    return {str(day): int(count) for day, count in rows}


def test_fetch_score_settle_over_three_days(lab: Lab, tmp_path: Path) -> None:
    home = fresh_home(lab, tmp_path / "state")
    folder = tmp_path / "data"
    with ReplayServer(FIXTURES / "nba_stats.json", FIXTURES / "odds_api.json") as server:
        settings = live_settings(
            home, folder, fetch_sources="nba,odds", nba_stats_url=f"{server.url}/stats",
            odds_api_url=server.url, odds_api_key="test-key-4f9c", fetch_min_interval=0,
        )  # fmt: skip
        seeded = run_cli(settings, "data", "fetch", "--since", "2025-01-13", "--until",
                         "2025-01-16", "--today", "2025-01-25")  # fmt: skip
        assert seeded.exit_code == 0, seeded.output
        predicted: dict[dt.date, int] = {}
        for day in DAYS:
            fetched = job(settings, "fetch", day)
            assert fetched["until"] == str(day) and fetched["lines_rows"] > 0
            scored = job(settings, "ingest", day)
            predicted[day] = scored["predicted"]
            previous = day - dt.timedelta(days=1)
            assert scored["settled"] == predicted.get(previous, 0)
    # the fixture's 12 players all have a line every day and 4+ earlier games
    assert list(predicted.values()) == [12, 12, 12]
    assert open_predictions(home) == {"2025-01-17": 0, "2025-01-18": 0, "2025-01-19": 12}
