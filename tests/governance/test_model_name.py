"""The registered model's name comes from settings alone: the CLI governs what is configured."""

from __future__ import annotations

from collections.abc import Sequence

import click
from click.testing import CliRunner, Result

from jobs.cli.governance import promote_command, register_command
from jobs.wiring import App
from nbaprops.settings import Settings


def _run(command: click.Command, args: Sequence[str], settings: Settings) -> Result:
    return CliRunner().invoke(command, list(args), obj=settings, catch_exceptions=False)


def test_register_and_promote_act_on_the_configured_model_only(
    store_settings: Settings, run_id: str
) -> None:
    settings = store_settings.model_copy(update={"registered_model": "OtherModel"})
    registered = _run(register_command, [run_id], settings)
    assert registered.exit_code == 0, registered.output
    promoted = _run(promote_command, ["1", "--to", "staging"], settings)
    assert promoted.exit_code == 0, promoted.output
    client = App.from_settings(settings).client
    names = {model.name for model in client.search_registered_models()}
    assert names == {"OtherModel"}
    aliases = client.get_registered_model("OtherModel").aliases
    assert {alias: str(v) for alias, v in aliases.items()} == {"staging": "1"}
