"""A move killed between its intent and its last step is completed by the next command."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from governance.audit import AuditTrail, audit_entry
from governance.intent_steps import audit_step, register_step, set_tags
from governance.intents import (
    StepHook,
    apply_steps,
    complete_intent,
    pending_intents,
    repair_pending,
    write_intent,
)
from governance.invariants import check_invariants
from governance.policy import Policy
from governance.promotion import promote
from governance.registry import (
    aliases_of,
    get_version,
    list_versions,
    register_run,
)
from jobs.cli.governance import Governance
from nbaprops.settings import Settings
from tests.support.stores import PERMISSIVE_POLICY

ROOT = Path(__file__).resolve().parents[2]

KILLED_PROMOTION = textwrap.dedent(
    """
    import datetime as dt, os, sys
    from governance.policy import parse_policy
    from governance.promotion import promote
    from nbaprops.settings import Settings
    from nbaprops.statedb import state_engine
    from nbaprops.tracking.setup import init_tracking

    home, uri, policy_text = sys.argv[1], sys.argv[2], sys.argv[3]
    settings = Settings(home=home, tracking_uri=uri, _env_file=None)
    client = init_tracking(settings)
    now = dt.datetime(2025, 1, 13, 7, 0, tzinfo=dt.UTC)  # gov.now + 1 h

    def die_after_first_step(applied: int) -> None:
        os._exit(9)  # a kill -9: no cleanup, no exception handlers, no atexit

    promote(
        client, state_engine(settings), "NBAPropsModel", "2", "production",
        parse_policy(policy_text), now, "killed", force=True, reason="killed mid-move",
        after_step=die_after_first_step,
    )
    """
)


class Crash(Exception):
    """Stands for the process dying at this point."""


def _crash_after(step: int) -> StepHook:
    def hook(applied: int) -> None:
        if applied == step:
            raise Crash(f"died after step {applied}")

    return hook


def _two_versions_one_in_production(gov: Governance, run_id: str, policy: Policy) -> None:
    """Version 1 in production, version 2 in staging."""
    for _ in range(2):
        register_run(gov.client, gov.engine, run_id, gov.now, "t")
    for version, to in (("1", "staging"), ("1", "production"), ("2", "staging")):
        promote(gov.client, gov.engine, gov.name, version, to, policy, gov.now, "t")


def _actions(gov: Governance) -> list[str]:
    return [e.action for e in AuditTrail(gov.engine).since()]


def test_a_killed_promotion_is_repaired_by_the_next_run(
    gov: Governance, run_id: str, permissive_policy: Policy, store_settings: Settings
) -> None:
    _two_versions_one_in_production(gov, run_id, permissive_policy)
    before = _actions(gov)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_LOGGING_LEVEL": "WARNING"}
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLED_PROMOTION,
            str(store_settings.home),
            store_settings.resolved_tracking_uri,
            PERMISSIVE_POLICY,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == 9, killed.stderr
    (intent,) = pending_intents(gov.engine)
    assert (intent.kind, intent.version) == ("to_production", "2")
    # Half-moved: version 1 already archived, but still holding the production alias.
    assert get_version(gov.client, gov.name, "1").lifecycle == "archived"
    assert aliases_of(gov.client, gov.name)["production"] == "1"
    assert check_invariants(gov.client, gov.name) != []
    assert _actions(gov) == [*before, "evaluate"]  # the move's rows wait for its completion

    repaired = repair_pending(gov.client, gov.engine, gov.now + dt.timedelta(hours=2), "next")
    assert [r.id for r in repaired] == [intent.id]
    assert check_invariants(gov.client, gov.name, AuditTrail(gov.engine)) == []
    assert aliases_of(gov.client, gov.name) == {"production": "2", "previous-production": "1"}
    assert _actions(gov) == [*before, "evaluate", "archive", "force", "repair"]
    force = AuditTrail(gov.engine).for_version(gov.name, "2")[-2]
    assert (force.actor, force.reason) == ("killed", "killed mid-move")
    assert repair_pending(gov.client, gov.engine, gov.now, "again") == []
    assert len(_actions(gov)) == len(before) + 4


@pytest.mark.parametrize("step", [1, 2, 3, 4, 5])
def test_an_interrupted_promotion_ends_as_if_never_interrupted(
    gov: Governance, run_id: str, permissive_policy: Policy, step: int
) -> None:
    _two_versions_one_in_production(gov, run_id, permissive_policy)
    with pytest.raises(Crash):
        promote(gov.client, gov.engine, gov.name, "2", "production", permissive_policy,
                gov.now, "t", force=True, reason="r", after_step=_crash_after(step))  # fmt: skip
    assert len(pending_intents(gov.engine)) == 1
    # The next command repairs first, then does its own work on a consistent registry.
    dataclasses.replace(gov, actor="t").rollback("bad week")
    assert check_invariants(gov.client, gov.name, AuditTrail(gov.engine)) == []
    assert aliases_of(gov.client, gov.name) == {"production": "1"}
    assert _actions(gov)[-5:] == ["archive", "force", "repair", "rollback", "rollback"]


@pytest.mark.parametrize("step", [1, 2, 3, 4])
def test_an_interrupted_rollback_is_completed(
    gov: Governance, run_id: str, permissive_policy: Policy, step: int
) -> None:
    _two_versions_one_in_production(gov, run_id, permissive_policy)
    promote(gov.client, gov.engine, gov.name, "2", "production", permissive_policy, gov.now,
            "t", force=True, reason="r")  # fmt: skip
    with pytest.raises(Crash):
        dataclasses.replace(gov, actor="t").rollback("drift", _crash_after(step))
    (repaired,) = repair_pending(gov.client, gov.engine, gov.now, "t")
    assert repaired.kind == "rollback"
    assert aliases_of(gov.client, gov.name) == {"production": "1"}
    assert get_version(gov.client, gov.name, "2").tags["rollback_reason"] == "drift"
    assert check_invariants(gov.client, gov.name, AuditTrail(gov.engine)) == []


def test_a_registration_killed_before_its_audit_row_is_completed(
    gov: Governance, run_id: str
) -> None:
    source = gov.client.get_run(run_id).data.tags["model_uri"]
    register_run(gov.client, gov.engine, run_id, gov.now, "t")
    tags = {**get_version(gov.client, gov.name, "1").tags, "semver": "v1.0.1"}
    entry = audit_entry(gov.now, actor="t", action="register", model_name=gov.name)
    steps = [register_step("r2", source, run_id, tags), audit_step(entry)]
    intent = write_intent(gov.engine, gov.now, gov.name, None, "register", steps)
    assert apply_steps(gov.client, intent) == "2"  # created; then the process died
    (repaired,) = repair_pending(gov.client, gov.engine, gov.now, "t")
    assert repaired.version == "2"
    assert [v.semver for v in list_versions(gov.client, gov.name)] == ["v1.0.0", "v1.0.1"]
    rows = AuditTrail(gov.engine).for_version(gov.name, "2")
    assert [r.action for r in rows] == ["register", "repair"]
    assert check_invariants(gov.client, gov.name, AuditTrail(gov.engine)) == []


def test_an_intent_completes_once_even_when_two_processes_race(
    gov: Governance, run_id: str
) -> None:
    register_run(gov.client, gov.engine, run_id, gov.now, "t")
    entry = audit_entry(gov.now, actor="t", action="evaluate", model_name=gov.name, version="1")
    steps = [set_tags("1", {"verdict": "promote"}), audit_step(entry)]
    intent = write_intent(gov.engine, gov.now, gov.name, "1", "evaluate", steps)
    assert complete_intent(gov.engine, intent, gov.now, "1")
    assert not complete_intent(gov.engine, intent, gov.now, "1")
    assert _actions(gov) == ["register", "evaluate"]


@pytest.mark.postgres
def test_interrupted_moves_are_repaired_with_the_state_db_on_postgresql(
    gov: Governance, run_id: str, permissive_policy: Policy, pg_state_engine: sa.Engine
) -> None:
    pg = dataclasses.replace(gov, engine=pg_state_engine)
    _two_versions_one_in_production(pg, run_id, permissive_policy)
    with pytest.raises(Crash):
        promote(pg.client, pg.engine, pg.name, "2", "production", permissive_policy, pg.now,
                "t", force=True, reason="r", after_step=_crash_after(2))  # fmt: skip
    (intent,) = pending_intents(pg.engine)
    (repaired,) = repair_pending(pg.client, pg.engine, pg.now, "t")
    assert repaired.id == intent.id
    assert not complete_intent(pg.engine, intent, pg.now, "2")  # a late second repairer
    assert aliases_of(pg.client, pg.name) == {"production": "2", "previous-production": "1"}
    assert check_invariants(pg.client, pg.name, AuditTrail(pg.engine)) == []
    actions = [e.action for e in AuditTrail(pg.engine).since()]
    assert actions[-4:] == ["evaluate", "archive", "force", "repair"]
