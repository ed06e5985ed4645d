"""A job says itself whether it did its work: on a store with no model and no fetch source,
`nbaprops jobs run NAME` shows each job's status and, when it had nothing to do, why."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from .conftest import live_settings, run_cli

DAY = dt.date(2025, 1, 20)

CASES = [
    ("fetch", "skipped", "no source configured (NBAPROPS_FETCH_SOURCES)"),
    ("backtest", "skipped", "no staged candidate"),
    ("evaluate_promotion", "skipped", "no staged candidate"),
    ("drift_check", "skipped", "no Production model to watch"),
    # settling is the ingest's work every day: it succeeds with nothing to predict
    ("ingest", "succeeded", "no Production model yet"),
]


@pytest.mark.parametrize(("job", "status", "note"), CASES)
def test_a_job_with_nothing_to_do_says_so(job: str, status: str, note: str, tmp_path: Path) -> None:
    settings = live_settings(tmp_path / "state", "synthetic")
    result = run_cli(settings, "jobs", "run", job, "--date", str(DAY), "--json")
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert (outcome["status"], outcome["summary"]["note"]) == (status, note), outcome
