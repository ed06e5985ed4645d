"""Check the configuration at the CLI edge, so a bad setting exits 2 with one line naming it.

`Settings()` validates types and ranges itself (pydantic); its errors are turned into lines
that name the environment variable instead of a traceback. Some settings are only parsed
where they are used (the policy file, NBAPROPS_RETRAIN_PARAMS, NBAPROPS_SCORING_SHIFT,
NBAPROPS_DATA): a command that will use them checks them before it starts, so a typo stops
`scheduler start` or `jobs run` at once instead of failing a job at night.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click
from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings

from nbaprops.settings import Settings
from nbaprops.settings_env import dotenv_variables, unknown_variables, variables_of

ENV_PREFIX = "NBAPROPS_"
# Settings whose value may hold a credential (a password, a URL with one): never echoed.
_SENSITIVE_SUFFIXES = ("password", "_url", "_uri")


class ConfigurationError(ValueError):
    """One or more settings that cannot be used; the message names each and what to do."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        if len(problems) == 1:
            text = f"invalid configuration: {problems[0]}"
        else:
            text = "invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems)
        super().__init__(text)


def variable_of(field: str) -> str:
    """The environment variable that sets a Settings field (its first upper-case alias)."""
    info = Settings.model_fields.get(field)
    alias = getattr(info, "validation_alias", None)
    choices = getattr(alias, "choices", None)
    if choices:
        upper = [c for c in choices if isinstance(c, str) and c.isupper()]
        if upper:
            return upper[0]
    return f"{ENV_PREFIX}{field.upper()}"


def _shown(field: str, value: Any) -> str:
    """`=value` for a message, or nothing for a setting that may hold a credential."""
    if isinstance(value, SecretStr) or field.endswith(_SENSITIVE_SUFFIXES):
        return ""
    return f"={value!r}"


def describe_validation_error(exc: ValidationError) -> list[str]:
    """One line per invalid setting: the variable, the value given, what is wrong, the fix."""
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        message = str(error["msg"]).removeprefix("Value error, ")
        variable = variable_of(field)
        value = _shown(field, error.get("input"))
        lines.append(f"{variable}{value}: {message}; fix it or unset {variable}")
    return lines


# NBAPROPS_* variables read outside the settings classes: by the test suite and CI
# (NBAPROPS_CI, NBAPROPS_PG_BINDIR), by compose.yaml and the Dockerfile (the image's tag, extras).
OTHER_VARIABLES = ("NBAPROPS_CI", "NBAPROPS_PG_BINDIR", "NBAPROPS_IMAGE_TAG", "NBAPROPS_EXTRAS")


def settings_classes() -> list[type[BaseSettings]]:
    """Every settings class that reads NBAPROPS_* variables."""
    from jobs.daemon.faults import FaultSettings
    from jobs.daemon.schedule_settings import SchedulerSettings

    return [Settings, SchedulerSettings, FaultSettings]


def known_variables() -> set[str]:
    """Every NBAPROPS_* name some part of nbaprops reads (derived from the classes' fields)."""
    names = set(OTHER_VARIABLES)
    for model in settings_classes():
        names.update(v for variables in variables_of(model).values() for v in variables)
    return names


def env_file() -> Path:
    """The `.env` file Settings reads (relative to the working folder)."""
    return Path(str(Settings.model_config.get("env_file") or ".env"))


def setting_warnings(environ: Mapping[str, str], dotenv: Path) -> list[str]:
    """One line per unknown NBAPROPS_* variable of the environment or `.env`, with a guess."""
    from jobs.daemon.faults import FaultSettings
    from jobs.daemon.schedule_settings import SCHEDULE_PREFIX, TIMEOUT_PREFIX

    per_job = (SCHEDULE_PREFIX, TIMEOUT_PREFIX, str(FaultSettings.model_config["env_prefix"]))
    in_env = unknown_variables(environ, known_variables(), ENV_PREFIX, per_job)
    in_file = unknown_variables(dotenv_variables(dotenv), known_variables(), ENV_PREFIX, per_job)
    return in_env + [f"{line} (in {dotenv})" for line in in_file]


def load_settings() -> Settings:
    """Settings from the environment and `.env`; ConfigurationError names any bad variable.

    Unknown NBAPROPS_* variables are warned about on stderr first (a typo is otherwise silent).
    """
    for line in setting_warnings(os.environ, env_file()):
        click.echo(f"warning: {line}", err=True)
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc)) from None


def _check_policy(settings: Settings) -> str | None:
    from governance.policy import PolicyError, load_policy

    try:
        load_policy(settings.policy_file)
    except PolicyError as exc:
        return f"NBAPROPS_POLICY_FILE: {exc}"
    return None


def _check_retrain_params(settings: Settings) -> str | None:
    try:
        overrides = settings.retrain_overrides
    except ValueError as exc:
        return str(exc)
    empty = [key for key, value in overrides.items() if value == ""]
    if empty:
        return (
            f"NBAPROPS_RETRAIN_PARAMS={settings.retrain_params!r}: "
            f"{', '.join(empty)} has no value; write key=value, e.g. num_leaves=7"
        )
    return None


def _check_scoring_shift(settings: Settings) -> str | None:
    if not settings.scoring_shift:
        return None
    from nbaprops.data.shift import ShiftSpecError, parse_scoring_shift

    variable = f"NBAPROPS_SCORING_SHIFT={settings.scoring_shift!r}"
    try:
        _, factor = parse_scoring_shift(settings.scoring_shift)
    except ShiftSpecError as exc:
        return f"{variable}: {exc}; fix it or unset NBAPROPS_SCORING_SHIFT"
    if not (math.isfinite(factor) and factor > 0):
        return f"{variable}: the factor must be a positive number, e.g. 2025-01-15:1.3"
    return None


def _check_data(settings: Settings) -> str | None:
    from nbaprops.data.errors import DataSourceError
    from nbaprops.data.sources import source_from_settings

    try:
        source_from_settings(settings)
    except DataSourceError as exc:
        return str(exc)
    return None


CHECKS: Mapping[str, Callable[[Settings], str | None]] = {
    "policy": _check_policy,
    "retrain_params": _check_retrain_params,
    "scoring_shift": _check_scoring_shift,
    "data": _check_data,
}

# Which lazily parsed settings each top-level command uses (the rest use none of them).
_LOOP = frozenset(CHECKS)
COMMAND_NEEDS: Mapping[str, frozenset[str]] = {
    "train": frozenset({"data"}),
    "backtest": frozenset({"data"}),
    "evaluate": frozenset({"policy"}),
    "promote": frozenset({"policy"}),
    "jobs": _LOOP,
    "scheduler": _LOOP,
    "simulate": _LOOP,
}


def check_settings(settings: Settings, command: str | None) -> None:
    """Raise ConfigurationError listing every setting `command` needs that cannot be used."""
    needs = COMMAND_NEEDS.get(command or "", frozenset())
    problems = [p for name, check in CHECKS.items() if name in needs if (p := check(settings))]
    if problems:
        raise ConfigurationError(problems)


__all__ = [
    "COMMAND_NEEDS",
    "ConfigurationError",
    "check_settings",
    "describe_validation_error",
    "known_variables",
    "load_settings",
    "setting_warnings",
    "variable_of",
]
