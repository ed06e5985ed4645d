"""Misspelt NBAPROPS_* variables are warned about at start, with the closest known name."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from jobs.cli.config_check import known_variables
from jobs.cli.main import cli
from nbaprops.settings_env import unknown_variables, variables_of

TYPO = "NBAPROPS_REPORT_TO is not a setting; did you mean NBAPROPS_REPORT_RECIPIENTS?"


def invoke(env: dict[str, str] | None = None, *args: str) -> tuple[int, str, str]:
    """Run `nbaprops config` (or `args`) and return exit code, stdout and stderr."""
    result = CliRunner().invoke(cli, list(args) or ["config"], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_typo_in_the_environment_is_warned_with_the_closest_name(workdir: Path) -> None:
    code, _, err = invoke({"NBAPROPS_REPORT_TO": "ops@example.com"})
    assert code == 0
    assert f"warning: {TYPO}" in err.splitlines()


def test_typo_in_dotenv_is_warned_naming_the_file(workdir: Path) -> None:
    (workdir / ".env").write_text("NBAPROPS_TEAMS=4\nNBAPROPS_SMTP_HOTS=mail.example.com\n")
    code, _, err = invoke()
    assert code == 0
    assert err.splitlines() == [
        "warning: NBAPROPS_SMTP_HOTS is not a setting; did you mean NBAPROPS_SMTP_HOST? (in .env)"
    ]


def test_typo_warned_before_a_bad_value_exits_2(workdir: Path) -> None:
    code, _, err = invoke({"NBAPROPS_REPORT_TO": "x", "NBAPROPS_TEAMS": "99"}, "config")
    assert code == 2
    lines = err.splitlines()
    assert lines[0] == f"warning: {TYPO}"
    assert "NBAPROPS_TEAMS" in lines[1] and "Traceback" not in err


def test_variables_read_elsewhere_are_not_warned(workdir: Path) -> None:
    legit = {name: "1" for name in known_variables()}
    legit.update(
        {
            "NBAPROPS_SCHEDULE_INGEST": "0 9 * * *",
            "NBAPROPS_TIMEOUT_BACKTEST": "60",
            "NBAPROPS_FAULT_SLEEP_SECONDS": "1",
            "NBAPROPS_CI": "1",
            "NBAPROPS_PG_BINDIR": "/usr/lib/postgresql/15/bin",
            "nbaprops_home": str(workdir / "home"),  # Settings reads names case-insensitively
        }
    )
    assert "NBAPROPS_HOME" in legit and "NBAPROPS_JOBS" in legit
    assert unknown_variables(legit, known_variables(), "NBAPROPS_", (
        "NBAPROPS_SCHEDULE_", "NBAPROPS_TIMEOUT_", "NBAPROPS_FAULT_")) == []  # fmt: skip
    code, _, err = invoke({"NBAPROPS_SCHEDULE_INGEST": "0 9 * * *", "NBAPROPS_CI": "1",
                           "NBAPROPS_FAULT_SLEEP_SECONDS": "1"})  # fmt: skip
    assert code == 0 and "warning" not in err


def test_a_new_field_is_known_without_a_list_to_update() -> None:
    class Extended(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="NBAPROPS_")
        report_cc: str = Field(default="")

    known = {v for names in variables_of(Extended).values() for v in names}
    assert known == {"NBAPROPS_REPORT_CC"}
    assert unknown_variables(["NBAPROPS_REPORT_CC"], known) == []
    assert unknown_variables(["NBAPROPS_REPORT_C"], known) == [
        "NBAPROPS_REPORT_C is not a setting; did you mean NBAPROPS_REPORT_CC?"
    ]


@pytest.mark.parametrize(
    ("name", "guess"),
    [
        ("NBAPROPS_HOEM", "NBAPROPS_HOME"),
        ("NBAPROPS_TEAM", "NBAPROPS_TEAMS"),
        ("NBAPROPS_SMTP_PASS", "NBAPROPS_SMTP_PASSWORD"),
        ("NBAPROPS_REPORT_FROM", "NBAPROPS_REPORT_SENDER"),
        ("NBAPROPS_TIMEZNE", "NBAPROPS_TIMEZONE"),
    ],
)
def test_closest_known_name(name: str, guess: str) -> None:
    assert unknown_variables([name], known_variables()) == [
        f"{name} is not a setting; did you mean {guess}?"
    ]


def test_nothing_close_says_it_is_ignored() -> None:
    assert unknown_variables(["NBAPROPS_XYZZY_QUUX"], known_variables()) == [
        "NBAPROPS_XYZZY_QUUX is not a setting (it is ignored)"
    ]
