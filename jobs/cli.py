"""The `nbaprops` command line: manual triggers for every job and the lab's own commands.

Each command builds `Settings` once and passes it down; exit code 2 means bad input.
"""

from __future__ import annotations

import click

from nbaprops.settings import Settings


@click.group()
@click.version_option(package_name="nbaprops")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Self-running tracking and governance for an NBA player-props model."""
    ctx.obj = Settings()


def _register_groups() -> None:
    """Attach the command groups that live in their own modules."""
    from jobs.cli_data import data_group
    from jobs.cli_governance import GOVERNANCE_COMMANDS
    from jobs.cli_lab import backtest_command, compare_command, init_command, train_command
    from jobs.cli_report import report_command
    from jobs.cli_scheduler import SCHEDULER_COMMANDS
    from jobs.cli_simulate import simulate_command

    for command in (
        data_group,
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
