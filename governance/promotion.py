"""What a registry move can end in: the results and refusals of the lifecycle's moves.

The moves themselves are commands of `governance.lifecycle.Lifecycle`, the only code that acts
on a Decision. Every move runs as an intent (governance/intents.py): planned
(governance/moves.py), written, applied, completed with its audit rows, so version tags and
audit trail are written in the same step and a crash is repaired by the next command.

The rules of each move are in governance/lifecycle.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from mlflow.tracking import MlflowClient
from sqlalchemy import Engine

from governance.evidence import Evaluation, decision_text
from governance.intents import StepHook
from governance.policy import Policy
from governance.registry import RegistryError

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
        plain = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        plain["evaluation"] = None if self.evaluation is None else self.evaluation.to_dict()
        return plain


@dataclass(frozen=True)
class RollbackResult:
    """A completed rollback: the archived version, the restored one and why."""

    rolled_back: str
    restored: str
    reason: str
    intent_id: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return dataclasses.asdict(self)


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
    """One-shot form of `Lifecycle.promote`, for scripts and test setup: one command."""
    from governance.lifecycle import Lifecycle  # the lifecycle is built on this module

    lifecycle = Lifecycle(client, engine, name, now, actor)
    return lifecycle.promote(version, to, policy, force=force, reason=reason, after_step=after_step)


__all__ = [
    "TARGET_STATES",
    "BadRequestError",
    "MoveResult",
    "NoPreviousVersion",
    "PromotionRefused",
    "RollbackResult",
    "TransitionError",
    "promote",
]
