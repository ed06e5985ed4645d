"""The registry lifecycle of one registered model, as one object per command.

`Lifecycle(client, engine, name, now, actor)` owns what every governance command works with:
the MLflow client, the state database (intents and audit trail), the registered model's name,
the command's time (one reading of the clock stamps every record of the command) and who acts.
Its commands are `register`, `stage`, `evaluate`, `promote`, `promote_if_qualified` and
`rollback`. Built once per command (a CLI invocation, a job run), it completes any move a
killed process left half-done once, before its first command (`repair`), reads each version
and the aliases once (`view`, a RegistryView) and searches each piece of backtest evidence
once, in the experiment where backtests live (`evidence`, an EvidenceReader).

Rules of the moves:
- `stage` (or `promote(..., to="staging")`): from lifecycle none only (an archived version
  stays archived; a new registration gives a new version). Needs no evaluation.
- `promote(..., to="production")`: from staging only. Evaluates first (recorded). verdict
  promote moves it; otherwise PromotionRefused, unless force=True with a reason (recorded as a
  `force` row with the decision). A `reject` verdict without force also archives the candidate
  (lifecycle archived + rejected_reason): it stays registered, with its tags and history, but
  can no longer be promoted; to override a rejection, force in the same command.
- `promote_if_qualified`: the scheduler's path: the same evaluation and moves, never raising
  for a refusal (it reports the outcome).
- `rollback`: Production -> archived with rollback_reason; previous-production -> production.
  Without a previous-production version nothing changes and NoPreviousVersion is raised.
- `register`: a training run's logged model (`models:/m-...`, from the run's `model_uri` tag)
  becomes a new version created WITH its tags in one store transaction (semver, lifecycle=none,
  registered_at, run_id, model_type, target, feature_set_version), then the `register` audit
  row is recorded. If anything fails after the version is created, the version is DELETED (so
  no half-registered version ever looks valid and the semver is free again) and
  RegistrationIncompleteError says what to fix; a process killed at that point leaves an
  intent that the next command completes.

The verdict itself comes from the pure `governance.decision.decide`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from dataclasses import dataclass, field, replace

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sqlalchemy import Engine

from governance.audit import audit_entry
from governance.evidence import Evaluation, EvidenceReader
from governance.intent_steps import Step, audit_step, register_step, set_tags
from governance.intents import (
    Intent,
    StepHook,
    abandon_intent,
    apply_steps,
    complete_intent,
    repair_pending,
    write_intent,
)
from governance.moves import plan_reject, plan_rollback, plan_to_production, plan_to_staging
from governance.policy import Policy
from governance.promotion import (
    TARGET_STATES,
    BadRequestError,
    MoveResult,
    NoPreviousVersion,
    PromotionRefused,
    RollbackResult,
    TransitionError,
)
from governance.registry import (
    PREVIOUS_PRODUCTION,
    PRODUCTION,
    RECIPE_TAGS,
    STAGING,
    NotRegistrableError,
    RegistrationIncompleteError,
    RegistryView,
    VersionInfo,
    next_version_semver,
    recipe_of_tags,
    timestamp,
)
from nbaprops.tracking.outage import store_errors


@dataclass
class Lifecycle:
    """One command's hold on the registry: client, state DB, model name, time and actor."""

    client: MlflowClient
    engine: Engine
    name: str
    now: dt.datetime
    actor: str
    view: RegistryView = field(init=False, repr=False, compare=False)
    evidence: EvidenceReader = field(init=False, repr=False, compare=False)
    _repaired: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.view = RegistryView(self.client, self.name)
        self.evidence = EvidenceReader(self.view)

    def repair(self) -> list[Intent]:
        """Complete the moves a killed process left half-done; once per command."""
        if self._repaired:
            return []
        repaired = repair_pending(self.client, self.engine, self.now, self.actor)
        self._repaired = True
        if repaired:
            self.view.forget()
        return repaired

    def _apply(
        self, version: str, kind: str, steps: list[Step], after_step: StepHook | None = None
    ) -> Intent:
        """Run one move as an intent (written, applied, completed) and note it in the view."""
        intent = write_intent(self.engine, self.now, self.name, version, kind, steps)
        try:
            applied = apply_steps(self.client, intent, after_step)
            complete_intent(self.engine, intent, self.now, applied)
        except BaseException:
            self.view.forget()
            self._repaired = False  # the move may be half-done: repair before the next one
            raise
        self.view.note(steps)
        return replace(intent, version=applied, completed_at=self.now)

    def register(self, run_id: str) -> VersionInfo:
        """Register a training run's logged model as a new version, tagged and audited."""
        self.repair()
        try:
            with store_errors(self.client):
                run = self.client.get_run(run_id)
        except MlflowException as exc:
            raise NotRegistrableError(
                f"no run {run_id!r} in the tracking store; copy a run id from `nbaprops compare`"
            ) from exc
        run_tags = run.data.tags
        source = run_tags.get("model_uri", "")
        if not source.startswith("models:/m-"):
            raise NotRegistrableError(
                f"run {run_id} has no logged model (tag model_uri = {source!r}); register a run "
                "made by `nbaprops train`"
            )
        recipe = recipe_of_tags(run_tags)
        if recipe is None:
            missing = ", ".join(t for t in RECIPE_TAGS if not run_tags.get(t))
            raise NotRegistrableError(f"run {run_id} lacks the tags {missing}; retrain it")
        semver = next_version_semver(self.view.versions(), recipe)
        tags = {
            "semver": str(semver),
            "lifecycle": "none",
            "registered_at": timestamp(self.now),
            "registered_by": self.actor,
            "run_id": run_id,
            "model_uri": source,
            "target": recipe.target,
            "model_type": recipe.model_type,
            "feature_set_version": recipe.feature_set_version,
        }
        entry = audit_entry(
            self.now,
            actor=self.actor,
            action="register",
            model_name=self.name,
            version=None,
            to_state="none",
            reason=f"registered run {run_id} ({source}) as {semver}",
        )
        steps = [register_step(uuid.uuid4().hex, source, run_id, tags), audit_step(entry)]
        intent = write_intent(self.engine, self.now, self.name, None, "register", steps)
        version = apply_steps(self.client, intent)
        assert version is not None
        try:
            complete_intent(self.engine, intent, self.now, version)
        except Exception as exc:
            self.client.delete_model_version(self.name, version)
            # With the state DB down this fails too; the next command's repair then completes
            # the registration (re-creating the version) instead.
            with contextlib.suppress(Exception):
                abandon_intent(self.engine, intent, self.now)
            raise RegistrationIncompleteError(
                f"registration of run {run_id} did not complete ({exc}); version {version} "
                "was removed. Check the state database (NBAPROPS_DATABASE_URL) and register "
                "again"
            ) from exc
        return self.view.version(version)

    def stage(self, version: str, reason: str = "") -> MoveResult:
        """Move a newly registered version (lifecycle none) into staging."""
        self.repair()
        info = self.view.version(version)
        if info.lifecycle != "none":
            raise TransitionError(
                f"version {info.version} is {info.lifecycle}; only a version in lifecycle none "
                "can move to staging (register the run again for a fresh version)"
            )
        current = self.view.by_alias(STAGING)
        steps = plan_to_staging(info, current, self.now, self.actor, reason)
        intent = self._apply(info.version, "to_staging", steps)
        displaced = current.version if current is not None else None
        return MoveResult(info.version, "none", "staging", "promote", displaced, None, intent.id)

    def evaluate(self, version: str, policy: Policy) -> Evaluation:
        """Decide on a version and record the decision (version tags + audit row, one intent)."""
        self.repair()
        info = self.view.version(version)
        evaluation = self.evidence.judge(info.version, policy)
        decision = evaluation.decision
        tags = {
            "last_decision": json.dumps(decision.to_dict(), sort_keys=True, allow_nan=False),
            "last_decision_at": timestamp(self.now),
            "verdict": decision.verdict,
            "last_decision_window": evaluation.window or "none",
            "last_decision_champion": evaluation.champion_version or "none",
        }
        entry = audit_entry(
            self.now,
            actor=self.actor,
            action="evaluate",
            model_name=self.name,
            version=info.version,
            from_state=info.lifecycle,
            to_state=info.lifecycle,
            decision=decision,
            reason=decision.summary(),
        )
        self._apply(info.version, "evaluate", [set_tags(info.version, tags), audit_step(entry)])
        return evaluation

    def _to_production(
        self, version: str, policy: Policy, force: bool, reason: str, after_step: StepHook | None
    ) -> MoveResult:
        """Evaluate, then promote, force, reject (archive) or keep in staging.

        A promotion of this very version that an outage or a kill left half-done is completed
        by the repair and reported as such: the retry of an interrupted promotion succeeds."""
        for repaired in self.repair():
            if repaired.kind == "to_production" and repaired.version == version:
                return MoveResult(
                    version, "staging", "production", "repair", None, None, repaired.id
                )
        info = self.view.version(version)
        if info.lifecycle != "staging":
            raise TransitionError(
                f"version {info.version} is {info.lifecycle}; a version reaches production only "
                f"from staging (first: nbaprops promote {info.version} --to staging)"
            )
        evaluation = self.evaluate(version, policy)
        info = self.view.version(version)
        decision = evaluation.decision
        if decision.promoted or force:
            action = "promote" if decision.promoted else "force"
            why = decision.summary() if decision.promoted else reason
            current = self.view.by_alias(PRODUCTION)
            steps = plan_to_production(info, current, self.now, self.actor, action, why, decision)
            intent = self._apply(info.version, "to_production", steps, after_step)
            displaced = current.version if current is not None else None
            return MoveResult(
                info.version, "staging", "production", action, displaced, evaluation, intent.id
            )
        if decision.verdict == "reject":
            steps = plan_reject(info, self.now, self.actor, decision)
            intent = self._apply(info.version, "reject", steps, after_step)
            return MoveResult(
                info.version, "staging", "archived", "reject", None, evaluation, intent.id
            )
        return MoveResult(info.version, "staging", "staging", "keep_in_staging", None, evaluation)

    def promote_if_qualified(self, version: str, policy: Policy) -> MoveResult:
        """Evaluate a staging version and act on the verdict; report, never raise, a refusal."""
        return self._to_production(version, policy, False, "", None)

    def promote(
        self,
        version: str,
        to: str,
        policy: Policy,
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
            return self.stage(version, reason.strip())
        result = self._to_production(version, policy, force, reason.strip(), after_step)
        if result.to_state != "production":
            assert result.evaluation is not None
            raise PromotionRefused(result.evaluation, archived=result.to_state == "archived")
        return result

    def rollback(self, reason: str, after_step: StepHook | None = None) -> RollbackResult:
        """Archive the Production version and restore the previous-production one."""
        if not reason.strip():
            raise BadRequestError("a rollback needs a reason: say what went wrong (--reason TEXT)")
        self.repair()
        current = self.view.by_alias(PRODUCTION)
        if current is None:
            raise NoPreviousVersion(
                f"{self.name} has no version in production; nothing to roll back"
            )
        previous = self.view.by_alias(PREVIOUS_PRODUCTION)
        if previous is None:
            raise NoPreviousVersion(
                f"{self.name} version {current.version} is in production but there is no "
                "previous-production version to restore; nothing was changed. Promote a "
                "better version instead (nbaprops promote VERSION --to production)"
            )
        steps = plan_rollback(current, previous, self.now, self.actor, reason.strip())
        intent = self._apply(current.version, "rollback", steps, after_step)
        return RollbackResult(current.version, previous.version, reason.strip(), intent.id)


__all__ = ["Lifecycle"]
