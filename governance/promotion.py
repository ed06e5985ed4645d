"""Promotion, rejection, forced moves and rollback: the only code that acts on a Decision.

Every move runs as an intent (governance/intents.py): planned (governance/moves.py), written,
applied, completed with its audit rows, so version tags and audit trail are written in the
same step and a crash is repaired by the next governance command.

Rules:
- `promote(..., to="staging")`: from lifecycle none only (an archived version stays archived;
  a new registration gives a new version). Needs no evaluation.
- `promote(..., to="production")`: from staging only. Evaluates first (recorded). verdict
  promote moves it; otherwise PromotionRefused, unless force=True with a reason (recorded as a
  `force` row with the decision). A `reject` verdict without force also archives the candidate
  (lifecycle archived + rejected_reason): it stays registered, with its tags and history, but
  can no longer be promoted; to override a rejection, force in the same command.
- `promote_if_qualified`: the scheduler's path: the same evaluation and moves, never raising
  for a refusal (it reports the outcome).
- `rollback`: Production -> archived with rollback_reason; previous-production -> production.
  Without a previous-production version nothing changes and NoPreviousVersion is raised.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from mlflow.tracking import MlflowClient
from sqlalchemy import Engine

from governance.evidence import (
    Evaluation,
    decision_rows,
    decision_text,
    evaluate,
    version_metrics,
)
from governance.intents import StepHook, repair_pending, run_intent
from governance.moves import plan_reject, plan_rollback, plan_to_production, plan_to_staging
from governance.policy import Policy
from governance.registry import (
    PREVIOUS_PRODUCTION,
    PRODUCTION,
    STAGING,
    RegistryError,
    get_version,
    version_by_alias,
)

TARGET_STATES: tuple[str, ...] = ("staging", "production")


class BadRequestError(RegistryError, ValueError):
    """A request that makes no sense as given (unknown target state, force without reason)."""


class TransitionError(RegistryError):
    """A move the lifecycle does not allow from the version's current state."""


class PromotionRefused(RegistryError):
    """The policy did not let the version into production; carries the evaluation."""

    def __init__(self, evaluation: Evaluation, archived: bool) -> None:
        self.evaluation = evaluation
        self.archived = archived
        version = evaluation.version
        outcome = "rejected and archived" if archived else "kept in staging"
        self.headline = f"version {version} was not promoted to production ({outcome})"
        self.hint = (
            "a rejected version cannot be promoted again; train and register a better one"
            if archived
            else f"to override: nbaprops promote {version} --to production --force --reason TEXT"
        )
        super().__init__(f"{self.headline}:\n{decision_text(evaluation.decision)}\n{self.hint}")


class NoPreviousVersion(RegistryError):
    """A rollback with nothing to roll back to; nothing was changed."""


@dataclass(frozen=True)
class MoveResult:
    """One applied move: which version went where, by which action, and what it displaced."""

    version: str
    from_state: str
    to_state: str
    action: str
    displaced: str | None = None
    evaluation: Evaluation | None = None
    intent_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {
            "version": self.version,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "action": self.action,
            "displaced": self.displaced,
            "evaluation": None if self.evaluation is None else self.evaluation.to_dict(),
            "intent_id": self.intent_id,
        }


@dataclass(frozen=True)
class RollbackResult:
    """A completed rollback: the archived version, the restored one and why."""

    rolled_back: str
    restored: str
    reason: str
    intent_id: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {
            "rolled_back": self.rolled_back,
            "restored": self.restored,
            "reason": self.reason,
            "intent_id": self.intent_id,
        }


def move_to_staging(
    client: MlflowClient,
    engine: Engine,
    name: str,
    version: str,
    now: dt.datetime,
    actor: str,
    reason: str = "",
) -> MoveResult:
    """Move a newly registered version (lifecycle none) into staging."""
    repair_pending(client, engine, now, actor)
    info = get_version(client, name, version)
    if info.lifecycle != "none":
        raise TransitionError(
            f"version {info.version} is {info.lifecycle}; only a version in lifecycle none "
            "can move to staging (register the run again for a fresh version)"
        )
    current = version_by_alias(client, name, STAGING)
    steps = plan_to_staging(info, current, now, actor, reason)
    intent = run_intent(client, engine, now, name, info.version, "to_staging", steps)
    displaced = current.version if current is not None else None
    return MoveResult(info.version, "none", "staging", "promote", displaced, None, intent.id)


def _require_staging(client: MlflowClient, name: str, version: str) -> None:
    info = get_version(client, name, version)
    if info.lifecycle != "staging":
        raise TransitionError(
            f"version {info.version} is {info.lifecycle}; a version reaches production only "
            f"from staging (first: nbaprops promote {info.version} --to staging)"
        )


def _to_production(
    client: MlflowClient,
    engine: Engine,
    name: str,
    version: str,
    policy: Policy,
    now: dt.datetime,
    actor: str,
    force: bool,
    reason: str,
    after_step: StepHook | None,
) -> MoveResult:
    """Evaluate, then promote, force, reject (archive) or keep in staging."""
    repair_pending(client, engine, now, actor)
    _require_staging(client, name, version)
    evaluation = evaluate(client, engine, name, version, policy, now, actor)
    info = get_version(client, name, version)
    decision = evaluation.decision
    if decision.promoted or force:
        action = "promote" if decision.promoted else "force"
        why = decision.summary() if decision.promoted else reason
        current = version_by_alias(client, name, PRODUCTION)
        steps = plan_to_production(info, current, now, actor, action, why, decision)
        intent = run_intent(
            client, engine, now, name, info.version, "to_production", steps, after_step
        )
        displaced = current.version if current is not None else None
        return MoveResult(
            info.version, "staging", "production", action, displaced, evaluation, intent.id
        )
    if decision.verdict == "reject":
        steps = plan_reject(info, now, actor, decision)
        intent = run_intent(client, engine, now, name, info.version, "reject", steps, after_step)
        return MoveResult(
            info.version, "staging", "archived", "reject", None, evaluation, intent.id
        )
    return MoveResult(info.version, "staging", "staging", "keep_in_staging", None, evaluation)


def promote_if_qualified(
    client: MlflowClient,
    engine: Engine,
    name: str,
    version: str,
    policy: Policy,
    now: dt.datetime,
    actor: str,
) -> MoveResult:
    """Evaluate a staging version and act on the verdict; report, never raise, a refusal."""
    return _to_production(client, engine, name, version, policy, now, actor, False, "", None)


def promote(
    client: MlflowClient,
    engine: Engine,
    name: str,
    version: str,
    to: str,
    policy: Policy,
    now: dt.datetime,
    actor: str,
    force: bool = False,
    reason: str = "",
    after_step: StepHook | None = None,
) -> MoveResult:
    """Move a version to staging or production; PromotionRefused when the policy says no.

    `after_step(n)` runs after the n-th registry step of the move (fault injection in tests).
    """
    if to not in TARGET_STATES:
        raise BadRequestError(f"cannot promote to {to!r}; choose staging or production")
    if force and not reason.strip():
        raise BadRequestError("--force needs --reason TEXT: say why the policy is overridden")
    if to == "staging":
        return move_to_staging(client, engine, name, version, now, actor, reason.strip())
    result = _to_production(
        client, engine, name, version, policy, now, actor, force, reason.strip(), after_step
    )
    if result.to_state != "production":
        assert result.evaluation is not None
        raise PromotionRefused(result.evaluation, archived=result.to_state == "archived")
    return result


def rollback(
    client: MlflowClient,
    engine: Engine,
    name: str,
    reason: str,
    now: dt.datetime,
    actor: str,
    after_step: StepHook | None = None,
) -> RollbackResult:
    """Archive the Production version and restore the previous-production one."""
    if not reason.strip():
        raise BadRequestError("a rollback needs a reason: say what went wrong (--reason TEXT)")
    repair_pending(client, engine, now, actor)
    current = version_by_alias(client, name, PRODUCTION)
    if current is None:
        raise NoPreviousVersion(f"{name} has no version in production; nothing to roll back")
    previous = version_by_alias(client, name, PREVIOUS_PRODUCTION)
    if previous is None:
        raise NoPreviousVersion(
            f"{name} version {current.version} is in production but there is no "
            "previous-production version to restore; nothing was changed. Promote a "
            "better version instead (nbaprops promote VERSION --to production)"
        )
    steps = plan_rollback(current, previous, now, actor, reason.strip())
    intent = run_intent(client, engine, now, name, current.version, "rollback", steps, after_step)
    return RollbackResult(current.version, previous.version, reason.strip(), intent.id)


__all__ = [
    "TARGET_STATES",
    "BadRequestError",
    "MoveResult",
    "NoPreviousVersion",
    "PromotionRefused",
    "RollbackResult",
    "TransitionError",
    "decision_rows",
    "evaluate",
    "move_to_staging",
    "promote",
    "promote_if_qualified",
    "rollback",
    "version_metrics",
]
