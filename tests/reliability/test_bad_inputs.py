"""The malformed-input corpus, run through the real CLI against a lived-in state.

Settings, cron and policy cases come from tests/data/bad_config/ (cases.csv); the CSV cases
of tests/data/bad/ are fed to `nbaprops train` through NBAPROPS_DATA. Every case must exit 2
with one `error:` message that names the variable (or file, line and column) and says what to
do, print no traceback, and leave MLflow, the registry and the state database as they were.
"""

from __future__ import annotations

import csv
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from jobs.cli.main import cli

DATA = Path(__file__).resolve().parents[1] / "data"
CONFIG_CASES = DATA / "bad_config"
CSV_CASES = DATA / "bad"
AS_OF = "2025-06-30"  # the CSV corpus's future_date case is in the future of this day
# Run through the console entry point in a process of their own as well (slower).
IN_A_PROCESS = ("seasons_not_a_label", "policy_unknown_metric")


def _table(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def config_cases() -> list[dict[str, str]]:
    return _table(CONFIG_CASES / "cases.csv")


def csv_cases() -> list[dict[str, str]]:
    return _table(CSV_CASES / "expected.csv")


def case_environment(case: str) -> dict[str, str]:
    """The variables of a settings case, with {case} standing for its folder."""
    env = {}
    folder = CONFIG_CASES / case
    for line in (folder / "env").read_text(encoding="utf-8").splitlines():
        if line.strip():
            key, _, value = line.partition("=")
            env[key] = value.replace("{case}", str(folder))
    return env


def invoke(env: dict[str, str], args: list[str]) -> Result:
    """`nbaprops ARGS` through click's runner, in an environment of exactly `env`."""
    variables = {k: v for k, v in env.items() if k.startswith(("NBAPROPS_", "MLFLOW_"))}
    return CliRunner().invoke(cli, args, env=variables, catch_exceptions=False)


def assert_rejected(code: int, stdout: str, stderr: str, names: list[str], message: str) -> None:
    """Exit 2, one `error:` message naming everything in `names` and saying `message`."""
    assert code == 2, f"exit {code}\nstdout: {stdout}\nstderr: {stderr}"
    assert stdout == ""
    assert "Traceback" not in stderr
    errors = stderr[stderr.index("error: ") :] if "error: " in stderr else ""
    assert errors, f"no 'error:' line in:\n{stderr}"
    assert errors.count("error: ") == 1
    for name in names:
        assert name in errors, f"{name!r} not named in: {errors}"
    assert message in errors, f"{message!r} not in: {errors}"


@pytest.mark.parametrize("case", config_cases(), ids=lambda c: c["case"])
def test_a_bad_setting_exits_2_naming_it_and_changes_nothing(
    case: dict[str, str], lived_in_state: Any, bad_input: Callable[[str], None], tmp_path: Path
) -> None:
    bad_input(f"settings, cron and policy:{case['case']}")
    env = {**lived_in_state.environment(), **case_environment(case["case"])}
    args = shlex.split(case["command"].replace("{tmp}", str(tmp_path)))
    with lived_in_state.left_as_it_was():
        result = invoke(env, args)
        names = case["names"].split(";")
        assert_rejected(result.exit_code, result.stdout, result.stderr, names, case["message"])
    assert not (tmp_path / "feed").exists()  # `data generate` wrote nothing


@pytest.mark.parametrize(
    "case", [c for c in csv_cases() if c["case"] != "future_date"], ids=lambda c: c["case"]
)
def test_bad_game_logs_or_lines_stop_training_before_any_run(
    case: dict[str, str], lived_in_state: Any, bad_input: Callable[[str], None]
) -> None:
    bad_input(f"game logs and lines:{case['case']}")
    env = lived_in_state.environment(NBAPROPS_DATA=CSV_CASES / case["case"])
    names = [case["file"]]
    names += [f"line {case['row']}"] if case["row"] else []
    names += [f"column {case['column']}"] if case["column"] else []
    with lived_in_state.left_as_it_was():
        result = invoke(env, ["train", "--model", "xgboost", "--params", "n_estimators=5"])
        errors = result.stderr[result.stderr.find("error: ") :]  # after the progress lines
        assert_rejected(result.exit_code, result.stdout, errors, names, case["message"])


def test_game_logs_from_the_future_are_refused_before_any_run(
    lived_in_state: Any, bad_input: Callable[[str], None]
) -> None:
    bad_input("game logs and lines:future_date")
    (case,) = [c for c in csv_cases() if c["case"] == "future_date"]
    args = ["data", "validate", str(CSV_CASES / "future_date"), "--as-of", AS_OF]
    names = [case["file"], f"line {case['row']}", f"column {case['column']}"]
    with lived_in_state.left_as_it_was():
        result = invoke(lived_in_state.environment(), args)
        assert_rejected(result.exit_code, result.stdout, result.stderr, names, case["message"])


@pytest.mark.parametrize("name", IN_A_PROCESS)
def test_the_console_entry_point_prints_the_same_one_line_error(
    name: str, lived_in_state: Any
) -> None:
    (case,) = [c for c in config_cases() if c["case"] == name]
    env = {**lived_in_state.environment(), **case_environment(name)}
    command = [sys.executable, "-c", "from jobs.cli.main import main; main()"]
    with lived_in_state.left_as_it_was():
        done = subprocess.run(
            [*command, *shlex.split(case["command"])],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        names = case["names"].split(";")
        assert_rejected(done.returncode, done.stdout, done.stderr, names, case["message"])
