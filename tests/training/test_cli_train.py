"""`nbaprops train` through the CLI runner: too little data is bad input (exit 2), not a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from jobs.cli.main import cli
from nbaprops.data.feed import Feed
from nbaprops.data.writer import write_feed


def test_too_little_data_exits_2_with_what_to_do(
    small_feed: Feed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_days = small_feed.dates[:3]
    tiny = small_feed.between(first_days[0], first_days[-1])
    folder = tmp_path / "tiny"
    write_feed(tiny, folder)
    monkeypatch.setenv("NBAPROPS_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("NBAPROPS_DATA", str(folder))
    result = CliRunner().invoke(cli, ["train", "--model", "xgboost"])
    assert result.exit_code == 2, result.output
    assert "not enough data to train" in result.stderr
    assert "more dates or players" in result.stderr
    assert "Traceback" not in result.output
