"""The governance commands through click's runner, on a real store: output and exit codes."""

from __future__ import annotations

import json
from collections.abc import Sequence

import click
import pytest
from click.testing import CliRunner, Result

from governance.audit import AuditTrail
from governance.intents import pending_intents
from governance.invariants import check_invariants
from governance.policy import Policy, load_policy
from governance.promotion import promote
from jobs.cli.governance import (
    Governance,
    audit_command,
    evaluate_command,
    promote_command,
    register_command,
    registry_group,
    rollback_command,
)
from nbaprops.settings import Settings


def _run(command: click.Command, args: Sequence[str], settings: Settings) -> Result:
    return CliRunner().invoke(command, list(args), obj=settings, catch_exceptions=False)


def _json(result: Result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_register_prints_the_version_and_refuses_unknown_runs(
    gov: Governance, store_settings: Settings, run_id: str
) -> None:
    info = _json(_run(register_command, [run_id, "--json"], store_settings))
    assert isinstance(info, dict)
    assert (info["version"], info["semver"], info["lifecycle"]) == ("1", "v1.0.0", "none")
    plain = _run(register_command, [run_id], store_settings)
    assert plain.exit_code == 0
    assert plain.stdout.strip() == f"registered NBAPropsModel version 2 (v1.0.1) from run {run_id}"
    unknown = _run(register_command, ["f" * 32], store_settings)
    assert unknown.exit_code == 2
    assert "no run" in unknown.stderr


def test_evaluate_prints_the_decision_table(
    gov: Governance, store_settings: Settings, run_id: str
) -> None:
    _run(register_command, [run_id], store_settings)
    result = _run(evaluate_command, ["1"], store_settings)
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[1].split()
    assert header == ["criterion", "metric", "value", "op", "threshold", "result"]
    names = [c.name for c in load_policy().criteria]
    assert all(name in result.stdout for name in names) and "verdict:" in result.stdout
    as_json = _json(_run(evaluate_command, ["v1.0.0", "--json"], store_settings))
    assert isinstance(as_json, dict)
    assert as_json["verdict"] in ("promote", "keep_in_staging", "reject")
    assert [c["name"] for c in as_json["decision"]["criteria"]] == names
    assert [e.action for e in AuditTrail(gov.engine).since()] == ["register", *["evaluate"] * 2]
    missing = _run(evaluate_command, ["9"], store_settings)
    assert missing.exit_code == 2
    assert "has no version '9'" in missing.stderr


def test_promote_exit_codes(gov: Governance, store_settings: Settings, run_id: str) -> None:
    for _ in range(2):
        _run(register_command, [run_id], store_settings)
    assert _run(promote_command, ["1", "--to", "nowhere"], store_settings).exit_code == 2
    assert _run(promote_command, ["1", "--to", "production"], store_settings).exit_code == 1
    staged = _run(promote_command, ["1", "--to", "staging"], store_settings)
    assert staged.exit_code == 0, staged.output
    assert "version 1: none -> staging" in staged.stdout
    no_reason = _run(promote_command, ["1", "--to", "production", "--force"], store_settings)
    assert no_reason.exit_code == 2
    assert "--reason" in no_reason.stderr
    # The packaged policy asks for walk-forward evidence this version does not have.
    refused = _run(promote_command, ["1", "--to", "production"], store_settings)
    assert refused.exit_code == 1
    assert "verdict:" in refused.stdout and "not promoted" in refused.stderr
    forced = _run(
        promote_command,
        ["2", "--to", "staging"],
        store_settings,
    )
    assert forced.exit_code == 0
    forced = _run(
        promote_command,
        ["2", "--to", "production", "--force", "--reason", "manual pick", "--json"],
        store_settings,
    )
    payload = _json(forced)
    assert isinstance(payload, dict)
    assert (payload["promoted"], payload["action"], payload["to_state"]) == (
        True,
        "force",
        "production",
    )
    assert check_invariants(gov.client, gov.name, AuditTrail(gov.engine)) == []


def test_registry_list_shows_lifecycle_aliases_and_metrics(
    gov: Governance, store_settings: Settings, run_id: str, permissive_policy: Policy
) -> None:
    empty = _run(registry_group, ["list"], store_settings)
    assert empty.exit_code == 0 and "no versions" in empty.stdout
    for _ in range(2):
        _run(register_command, [run_id], store_settings)
    for to in ("staging", "production"):
        promote(gov.client, gov.engine, gov.name, "1", to, permissive_policy, gov.now, "t")
    rows = _json(_run(registry_group, ["list", "--json"], store_settings))
    assert isinstance(rows, list)
    assert [(r["version"], r["semver"], r["lifecycle"], r["aliases"]) for r in rows] == [
        ("1", "v1.0.0", "production", "production"),
        ("2", "v1.0.1", "none", ""),
    ]
    assert rows[0]["val_mae"] == gov.client.get_run(run_id).data.metrics["val_mae"]
    table = _run(registry_group, ["list"], store_settings).stdout.splitlines()
    assert table[0].split() == [
        "version", "semver", "lifecycle", "aliases", "val_mae", "wf_roi", "bet_count",
    ]  # fmt: skip


def test_rollback_and_audit(
    gov: Governance, store_settings: Settings, run_id: str, permissive_policy: Policy
) -> None:
    nothing = _run(rollback_command, ["--reason", "drift"], store_settings)
    assert nothing.exit_code == 1
    assert "no version in production" in nothing.stderr
    for _ in range(2):
        _run(register_command, [run_id], store_settings)
    for version in ("1", "2"):
        promote(gov.client, gov.engine, gov.name, version, "staging", permissive_policy,
                gov.now, "t")  # fmt: skip
        promote(gov.client, gov.engine, gov.name, version, "production", permissive_policy,
                gov.now, "t", force=True, reason="r")  # fmt: skip
    done = _json(_run(rollback_command, ["--reason", "live MAE 1.2x", "--json"], store_settings))
    assert done == {"rolled_back": "2", "restored": "1", "reason": "live MAE 1.2x",
                    "intent_id": done["intent_id"]}  # type: ignore[index]  # fmt: skip
    again = _run(rollback_command, ["--reason", "drift"], store_settings)
    assert again.exit_code == 1
    assert "no previous-production version" in again.stderr
    entries = _json(_run(audit_command, ["--json"], store_settings))
    assert isinstance(entries, list)
    assert [e["action"] for e in entries][-2:] == ["rollback", "rollback"]
    assert entries[-2]["reason"] == "live MAE 1.2x"
    assert entries[-2]["actor"].startswith("cli:")
    table = _run(audit_command, [], store_settings)
    assert table.stdout.splitlines()[0].split()[:3] == ["at", "actor", "action"]
    future = _run(audit_command, ["--since", "2999-01-01"], store_settings)
    assert "no audit entries since 2999-01-01" in future.stdout
    assert _run(audit_command, ["--since", "last week"], store_settings).exit_code == 2


@pytest.mark.parametrize("command", ["registry", "audit"])
def test_every_command_repairs_an_interrupted_move_first(
    gov: Governance,
    store_settings: Settings,
    run_id: str,
    permissive_policy: Policy,
    command: str,
) -> None:
    _run(register_command, [run_id], store_settings)

    def crash(applied: int) -> None:
        raise RuntimeError("killed")

    promote(gov.client, gov.engine, gov.name, "1", "staging", permissive_policy, gov.now, "t")
    with pytest.raises(RuntimeError):
        promote(gov.client, gov.engine, gov.name, "1", "production", permissive_policy,
                gov.now, "t", after_step=crash)  # fmt: skip
    assert len(pending_intents(gov.engine)) == 1
    args = ["list"] if command == "registry" else []
    result = _run(registry_group if command == "registry" else audit_command, args, store_settings)
    assert result.exit_code == 0
    assert "repaired an interrupted to_production of version 1" in result.stderr
    assert pending_intents(gov.engine) == []
    assert check_invariants(gov.client, gov.name, AuditTrail(gov.engine)) == []
