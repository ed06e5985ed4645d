"""`nbaprops config`: the settings in effect and where each came from, secrets masked.

Each row names the variable, the effective value and its source: `default`, `environment`
or `.env` (the environment wins over `.env`, as in Settings itself). Passwords, and the
password inside a URL, print as ******** so the output can be pasted into an issue.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import click

from jobs.cli.config_check import env_file
from jobs.cli.console import print_json, print_table
from nbaprops.settings import Settings
from nbaprops.settings_env import dotenv_variables, masked, sources


def per_job_rows(environ: Mapping[str, str], dotenv: Mapping[str, str]) -> list[dict[str, Any]]:
    """Rows for the per-job NBAPROPS_SCHEDULE_<JOB> / NBAPROPS_TIMEOUT_<JOB> variables set."""
    from jobs.daemon.schedule_settings import SCHEDULE_PREFIX, TIMEOUT_PREFIX

    rows: dict[str, dict[str, Any]] = {}
    for source, values in ((".env", dotenv), ("environment", environ)):  # environment wins
        for name, value in values.items():
            if name.upper().startswith((SCHEDULE_PREFIX, TIMEOUT_PREFIX)):
                rows[name.upper()] = {"setting": "scheduler", "variable": name.upper(),
                                      "value": masked(name, value), "source": source}  # fmt: skip
    return [rows[name] for name in sorted(rows)]


def config_rows(settings: Settings, environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every setting of Settings and SchedulerSettings as a row (field, variable, value, source)."""
    from jobs.cli.scheduler import _scheduler_settings

    dotenv = dotenv_variables(env_file())
    rows = []
    for instance in (settings, _scheduler_settings()):
        for row in sources(instance, environ, dotenv):
            if isinstance(getattr(instance, row.field), dict):
                continue  # the per-job maps: listed variable by variable below
            rows.append({"setting": row.field, "variable": row.variable, "value": row.value,
                         "source": row.source})  # fmt: skip
    return rows + per_job_rows(environ, dotenv)


@click.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def config_command(settings: Settings, as_json: bool) -> None:
    """The effective settings and where each came from (default, environment, .env)."""
    rows = config_rows(settings, os.environ)
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["variable", "value", "source"])
