"""The `nbaprops` command line: manual triggers for every job and the lab's own commands.

Each command builds `Settings` once and passes it down; exit code 2 means bad input. Bad
settings and bad input data stop here with one line naming the variable, file, row or column
(never a traceback): see jobs/cli/config_check.py and `BAD_INPUT_ERRORS`.
"""

from __future__ import annotations

from typing import Any

import click

from jobs.cli.config_check import ConfigurationError, check_settings, load_settings

BAD_INPUT_EXIT_CODE = 2


def _bad_input_errors() -> tuple[type[Exception], ...]:
    """The error classes that mean bad input (data, season, policy, schedule, settings)."""
    from governance.policy import PolicyError
    from jobs.daemon.schedule_settings import ScheduleError
    from nbaprops.data.errors import DataValidationError
    from nbaprops.data.shift import ShiftSpecError
    from nbaprops.seasons import SeasonError
    from nbaprops.splits import SplitError
    from nbaprops.statedb import SchemaTooNewError
    from nbaprops.training.pipeline import NotEnoughDataError

    return (
        NotEnoughDataError,
        SplitError,
        ConfigurationError,
        DataValidationError,
        PolicyError,
        ScheduleError,
        SeasonError,
        ShiftSpecError,
        SchemaTooNewError,
    )


class NbapropsGroup(click.Group):
    """The top-level group: a bad-input error from any command exits 2 with its message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _bad_input_errors() as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(BAD_INPUT_EXIT_CODE)


@click.group(cls=NbapropsGroup)
@click.version_option(package_name="nbaprops")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Self-running tracking and governance for an NBA player-props model."""
    settings = load_settings()
    check_settings(settings, ctx.invoked_subcommand)
    ctx.obj = settings


def _register_groups() -> None:
    """Attach the command groups that live in their own modules."""
    from jobs.cli.config import config_command
    from jobs.cli.data import data_group
    from jobs.cli.governance import GOVERNANCE_COMMANDS
    from jobs.cli.lab import backtest_command, compare_command, init_command, train_command
    from jobs.cli.report import report_command
    from jobs.cli.scheduler import SCHEDULER_COMMANDS
    from jobs.cli.simulate import simulate_command

    for command in (
        data_group,
        config_command,
        init_command,
        train_command,
        compare_command,
        backtest_command,
        report_command,
        simulate_command,
        *SCHEDULER_COMMANDS,
        *GOVERNANCE_COMMANDS,
    ):
        cli.add_command(command)


_register_groups()


def main() -> None:
    """Console-script entry point."""
    from nbaprops.tracking.setup import quiet_mlflow

    quiet_mlflow()
    cli(prog_name="nbaprops")
