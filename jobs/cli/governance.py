"""`nbaprops register | evaluate | promote | registry list | rollback | audit`.

Every command first completes any registry move a killed process left half-done (the intent
repair), then acts. Exit codes: 0 done, 1 refused or nothing to do (the policy said no, no
previous version to roll back to, a move the lifecycle forbids), 2 bad input (unknown run or
version, bad --to, --force without --reason, bad --since).
"""

from __future__ import annotations

import datetime as dt
import getpass
from typing import Any

import click

from governance.audit import AuditError, AuditTrail
from governance.evidence import Evaluation, decision_rows
from governance.lifecycle import Lifecycle
from governance.policy import Policy, PolicyError, load_policy
from governance.promotion import (
    BadRequestError,
    NoPreviousVersion,
    PromotionRefused,
    TransitionError,
)
from governance.registry import (
    NotRegistrableError,
    RegistrationIncompleteError,
    UnknownVersionError,
)
from jobs.cli.console import fail, print_json, print_table
from jobs.wiring import App
from nbaprops.settings import Settings

DECISION_COLUMNS = ("criterion", "metric", "value", "op", "threshold", "result")
LIST_COLUMNS = ("version", "semver", "lifecycle", "aliases", "val_mae", "wf_roi", "bet_count")
AUDIT_COLUMNS = ("at", "actor", "action", "version", "from", "to", "verdict", "reason")
REASON_WIDTH = 70  # the table shows the start of each reason; --json has all of it


#: What a governance command works with: the registry lifecycle, built once per command.
Governance = Lifecycle


def open_governance(settings: Settings, quiet: bool = False) -> Lifecycle:
    """Connect to the stores, then complete any interrupted registry move (and say so)."""
    app = App.from_settings(settings)
    gov = Lifecycle(app.client, app.engine, app.model_name, app.clock(), "cli:" + getpass.getuser())
    for intent in gov.repair():
        if not quiet:
            click.echo(
                f"repaired an interrupted {intent.kind} of version {intent.version} "
                f"(intent #{intent.id})",
                err=True,
            )
    return gov


def _policy() -> Policy:
    """The policy NBAPROPS_POLICY_FILE names (the packaged default when unset)."""
    settings = click.get_current_context().find_object(Settings)
    try:
        return load_policy(settings.policy_file if settings is not None else None)
    except PolicyError as exc:
        fail(str(exc))
        raise AssertionError("unreachable") from exc


def _version(gov: Lifecycle, ref: str) -> str:
    try:
        return gov.view.resolve(ref).version
    except UnknownVersionError as exc:
        fail(str(exc))
        raise AssertionError("unreachable") from exc


def _print_decision(evaluation: Evaluation) -> None:
    decision = evaluation.decision
    print_table(decision_rows(decision), DECISION_COLUMNS)
    champion = evaluation.champion_version or "none"
    click.echo(f"window: {evaluation.window or 'no backtest'}   champion: {champion}")
    click.echo(f"verdict: {decision.verdict}")
    for reason in decision.reasons:
        click.echo(f"  - {reason}")


@click.command("register")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the new version as JSON.")
@click.pass_obj
def register_command(settings: Settings, run_id: str, as_json: bool) -> None:
    """Register a training run's logged model as a new version of the model."""
    gov = open_governance(settings, as_json)
    try:
        info = gov.register(run_id)
    except NotRegistrableError as exc:
        fail(str(exc))
        return
    except RegistrationIncompleteError as exc:
        fail(str(exc), 1)
        return
    if as_json:
        print_json(info.to_dict())
        return
    click.echo(f"registered {gov.name} version {info.version} ({info.semver}) from run {run_id}")


@click.command("evaluate")
@click.argument("version")
@click.option("--json", "as_json", is_flag=True, help="Print the evaluation as JSON.")
@click.pass_obj
def evaluate_command(settings: Settings, version: str, as_json: bool) -> None:
    """Judge a version against the policy and the Production champion (recorded)."""
    gov = open_governance(settings, as_json)
    number = _version(gov, version)
    evaluation = gov.evaluate(number, _policy())
    if as_json:
        print_json(evaluation.to_dict())
        return
    click.echo(f"{gov.name} version {number}")
    _print_decision(evaluation)


@click.command("promote")
@click.argument("version")
@click.option("--to", "to", type=click.Choice(["staging", "production"]), required=True)
@click.option("--force", is_flag=True, help="Override the policy (needs --reason).")
@click.option("--reason", default="", help="Why (required with --force); recorded.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def promote_command(
    settings: Settings, version: str, to: str, force: bool, reason: str, as_json: bool
) -> None:
    """Move a version to staging or production (production only on the policy's say-so)."""
    if force and not reason.strip():
        fail("--force needs --reason TEXT: say why the policy is overridden")
    gov = open_governance(settings, as_json)
    number = _version(gov, version)
    policy = _policy()
    try:
        result = gov.promote(number, to, policy, force=force, reason=reason)
    except PromotionRefused as exc:
        if as_json:
            print_json({"promoted": False, **exc.evaluation.to_dict(), "archived": exc.archived})
        else:
            _print_decision(exc.evaluation)
        fail(f"{exc.headline}; {exc.hint}", 1)
        return
    except TransitionError as exc:
        fail(str(exc), 1)
        return
    except BadRequestError as exc:
        fail(str(exc))
        return
    if as_json:
        print_json({"promoted": True, **result.to_dict()})
        return
    if result.evaluation is not None:
        _print_decision(result.evaluation)
    how = " (forced)" if result.action == "force" else ""
    click.echo(f"version {result.version}: {result.from_state} -> {result.to_state}{how}")
    if result.displaced is not None:
        what = "previous-production" if to == "production" else "archived"
        click.echo(f"version {result.displaced}: archived ({what})")


@click.group("registry")
def registry_group() -> None:
    """Inspect the model registry."""


def _as_count(value: Any) -> int | None:
    """A count metric (MLflow stores every metric as a float) as an integer for display."""
    return None if value is None else int(value)


@registry_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the versions as JSON.")
@click.pass_obj
def registry_list_command(settings: Settings, as_json: bool) -> None:
    """Every version: semver, lifecycle, aliases and key metrics."""
    gov = open_governance(settings, as_json)
    rows: list[dict[str, Any]] = []
    for info in gov.view.versions():
        metrics = gov.evidence.metrics(info.version)
        rows.append(
            {
                "version": info.version,
                "semver": info.semver,
                "lifecycle": info.lifecycle,
                "aliases": ",".join(info.aliases),
                "run_id": info.run_id,
                **{k: metrics.get(k) for k in ("val_mae", "wf_roi")},
                "bet_count": _as_count(metrics.get("bet_count")),
            }
        )
    if as_json:
        print_json(rows)
    elif not rows:
        click.echo(f"no versions of {gov.name} yet; register one: nbaprops register RUN_ID")
    else:
        print_table(rows, LIST_COLUMNS)


@click.command("rollback")
@click.option("--reason", required=True, help="What went wrong; recorded.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def rollback_command(settings: Settings, reason: str, as_json: bool) -> None:
    """Archive the Production version and restore the previous one."""
    if not reason.strip():
        fail("--reason must say what went wrong")
    gov = open_governance(settings, as_json)
    try:
        result = gov.rollback(reason)
    except NoPreviousVersion as exc:
        fail(str(exc), 1)
        return
    if as_json:
        print_json(result.to_dict())
        return
    click.echo(
        f"rolled back version {result.rolled_back} (archived); "
        f"version {result.restored} is in production again"
    )


def parse_since(text: str) -> dt.datetime:
    """A date (YYYY-MM-DD) or ISO datetime; naive values are taken as UTC."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(
            f"{text!r} is not a date; use YYYY-MM-DD or an ISO datetime", param_hint="--since"
        ) from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


@click.command("audit")
@click.option("--since", "since", default=None, help="Only entries at or after this date.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@click.pass_obj
def audit_command(settings: Settings, since: str | None, as_json: bool) -> None:
    """The audit trail of every governance action, oldest first."""
    when = parse_since(since) if since else None
    gov = open_governance(settings, as_json)
    try:
        entries = AuditTrail(gov.engine).since(when)
    except AuditError as exc:
        fail(str(exc))
        return
    rows = [
        {
            "id": e.id,
            "at": e.at.isoformat(timespec="seconds"),
            "actor": e.actor,
            "action": e.action,
            "model_name": e.model_name,
            "version": e.version,
            "from": e.from_state,
            "to": e.to_state,
            "verdict": e.verdict,
            "reason": e.reason,
            "decision": e.decision,
        }
        for e in entries
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        reason = str(row["reason"])
        row["reason"] = reason if len(reason) <= REASON_WIDTH else reason[: REASON_WIDTH - 1] + "…"
    if not rows:
        click.echo("no audit entries" + (f" since {when.isoformat()}" if when else ""))
    else:
        print_table(rows, AUDIT_COLUMNS)


GOVERNANCE_COMMANDS: tuple[click.Command, ...] = (
    register_command,
    evaluate_command,
    promote_command,
    registry_group,
    rollback_command,
    audit_command,
)

__all__ = ["GOVERNANCE_COMMANDS", "Governance", "open_governance", "parse_since"]
