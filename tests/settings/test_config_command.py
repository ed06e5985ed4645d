"""`nbaprops config`: effective values with their source, secrets masked, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from jobs.cli.main import cli


def rows(env: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """`nbaprops config --json` by variable."""
    result = CliRunner().invoke(cli, ["config", "--json"], env=env)
    assert result.exit_code == 0, result.output
    return {row["variable"]: row for row in json.loads(result.stdout)}


def test_each_setting_says_where_it_came_from(workdir: Path) -> None:
    (workdir / ".env").write_text("NBAPROPS_TEAMS=4\nNBAPROPS_SEED=7\n")
    found = rows({"NBAPROPS_SEED": "9", "NBAPROPS_SCHEDULE_INGEST": "0 9 * * *"})
    assert found["NBAPROPS_TEAMS"] == {"setting": "teams", "variable": "NBAPROPS_TEAMS",
                                       "value": "4", "source": ".env"}  # fmt: skip
    assert (found["NBAPROPS_SEED"]["value"], found["NBAPROPS_SEED"]["source"]) == (
        "9", "environment")  # fmt: skip  # the environment wins over .env
    assert found["NBAPROPS_TARGET"]["source"] == "default"
    assert found["NBAPROPS_TIMEZONE"] == {"setting": "timezone", "variable": "NBAPROPS_TIMEZONE",
                                          "value": "UTC", "source": "default"}  # fmt: skip
    assert found["NBAPROPS_SCHEDULE_INGEST"]["value"] == "0 9 * * *"
    assert found["NBAPROPS_HOME"]["source"] == "environment"


def test_tracking_uri_from_mlflow_variable(workdir: Path) -> None:
    found = rows({"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000"})
    assert found["MLFLOW_TRACKING_URI"]["value"] == "http://127.0.0.1:5000"
    assert found["MLFLOW_TRACKING_URI"]["source"] == "environment"


def test_secrets_never_print(workdir: Path) -> None:
    (workdir / ".env").write_text("NBAPROPS_SMTP_PASSWORD=hunter2-in-file\n")
    env = {
        "NBAPROPS_DATABASE_URL": "postgresql+psycopg://nb:pg-secret@127.0.0.1/state",
        "MLFLOW_TRACKING_URI": "http://ops:mlflow-secret@127.0.0.1:5000",
    }
    for args in (["config"], ["config", "--json"]):
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exit_code == 0, result.output
        for secret in ("hunter2", "pg-secret", "mlflow-secret"):
            assert secret not in result.output
    found = rows(env)
    assert found["NBAPROPS_SMTP_PASSWORD"] == {"setting": "smtp_password",
        "variable": "NBAPROPS_SMTP_PASSWORD", "value": "********", "source": ".env"}  # fmt: skip
    assert found["NBAPROPS_DATABASE_URL"]["value"] == (
        "postgresql+psycopg://nb:********@127.0.0.1/state"
    )


def test_table_output_and_bad_value_exit_codes(workdir: Path) -> None:
    table = CliRunner().invoke(cli, ["config"])
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0].split() == ["variable", "value", "source"]
    bad = CliRunner().invoke(cli, ["config"], env={"NBAPROPS_TEAMS": "99"})
    assert bad.exit_code == 2
    assert "NBAPROPS_TEAMS" in bad.stderr and "Traceback" not in bad.output
    bad_schedule = CliRunner().invoke(cli, ["config"], env={"NBAPROPS_TIMEZONE": "Mars/Base"})
    assert bad_schedule.exit_code == 2
    assert "NBAPROPS_TIMEZONE" in bad_schedule.stderr
