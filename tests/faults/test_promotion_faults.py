"""`nbaprops promote` killed with SIGKILL between its intent and its registry moves.

The CLI runs as a process of its own with one change: the registry move of the promotion is
wrapped so that the process sends itself SIGKILL after its N-th step (0: right after the
intent was written, before any move). The next governance command must complete the move,
record it once, and leave exactly one version in production.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from governance.policy import parse_policy
from governance.promotion import promote
from governance.registry import register_run
from nbaprops.statedb import state_engine
from nbaprops.tracking.setup import init_tracking
from tests.support.stores import PERMISSIVE_POLICY

KILLED_CLI = """
import os, signal, sys
import governance.intents as intents

real_apply_steps = intents.apply_steps
kill_after = int(os.environ["KILL_AFTER_STEP"])

def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)

def apply_steps(client, intent, after_step=None):
    if intent.kind != "to_production":
        return real_apply_steps(client, intent, after_step)
    if kill_after == 0:
        die()

    def hook(applied):
        if after_step is not None:
            after_step(applied)
        if applied == kill_after:
            die()

    return real_apply_steps(client, intent, hook)

intents.apply_steps = apply_steps
from jobs.cli.main import main
main()
"""

T0 = dt.datetime(2025, 1, 13, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("kill_after", [0, 3], ids=["before-any-move", "after-3-of-5-moves"])
def test_a_promotion_killed_mid_move_is_completed_once_by_the_next_command(
    nbaprops: Any,
    health: Any,
    lived_in: Any,
    scenario: Callable[[str], None],
    kill_after: int,
) -> None:
    scenario(f"kill -9 of `nbaprops promote` between intent and moves (after step {kill_after})")
    settings = nbaprops.settings
    client, engine = init_tracking(settings), state_engine(settings)
    version = register_run(client, engine, lived_in.run_id, T0, "test").version
    permissive = parse_policy(PERMISSIVE_POLICY)
    promote(client, engine, "NBAPropsModel", version, "staging", permissive, T0, "test")
    actions_before = health.audit_actions()

    killed = subprocess.run(
        [sys.executable, "-c", KILLED_CLI, "promote", version, "--to", "production", "--force",
         "--reason", "a killed promotion"],
        env=nbaprops.env(KILL_AFTER_STEP=kill_after), cwd=nbaprops.folder,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (intent,) = health.pending_intents()
    assert (intent.kind, intent.version) == ("to_production", version)
    assert health.audit_actions() == [*actions_before, "evaluate"]  # the move's rows wait
    if kill_after:
        assert health.invariant_problems() != []  # half-moved: the registry is inconsistent
    else:
        assert health.aliases()["production"] == "1"  # nothing moved yet

    repaired = nbaprops.invoke("registry", "list")
    assert repaired.exit_code == 0, repaired.output
    assert f"repaired an interrupted to_production of version {version}" in repaired.stderr
    assert f"(intent #{intent.id})" in repaired.stderr
    health.assert_healthy(production=version)
    assert health.aliases() == {"production": version, "previous-production": "1"}
    actions = health.audit_actions()
    assert actions == [*actions_before, "evaluate", "archive", "force", "repair"]
    again = nbaprops.invoke("registry", "list")
    assert again.exit_code == 0 and "repaired" not in again.stderr
    assert health.audit_actions() == actions  # recorded once
