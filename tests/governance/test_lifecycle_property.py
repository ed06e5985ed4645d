"""Random sequences of registry operations on a real SQLite MLflow store keep every invariant.

A model of the lifecycle (which version is where, how many audit rows) is advanced beside the
real registry; after every step the two must agree, `check_invariants` must be empty and the
audit trail must hold exactly one row per applied action.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from governance.audit import AuditTrail
from governance.intents import StepHook, ensure_schema, pending_intents, repair_pending
from governance.invariants import check_invariants
from governance.policy import Policy
from governance.promotion import (
    NoPreviousVersion,
    PromotionRefused,
    TransitionError,
    promote,
)
from governance.registry import aliases_of, list_versions, register_run
from jobs.cli.governance import Governance

T0 = dt.datetime(2025, 1, 13, 6, 0, tzinfo=dt.UTC)
POLICIES = ("permissive", "strict", "waiting")


class Crash(Exception):
    """Stands for the process dying after a step."""


def _crash_after(step: int) -> StepHook:
    def hook(applied: int) -> None:
        if applied == step:
            raise Crash(step)

    return hook


@dataclass
class Expected:
    """The lifecycle as the rules say it must be."""

    lifecycle: dict[str, str] = field(default_factory=dict)
    staging: str | None = None
    production: str | None = None
    previous: str | None = None
    audit_rows: int = 0

    def aliases(self) -> dict[str, str]:
        pairs = {
            "staging": self.staging,
            "production": self.production,
            "previous-production": self.previous,
        }
        return {alias: v for alias, v in pairs.items() if v is not None}

    def to_staging(self, version: str) -> None:
        if self.staging is not None:
            self.lifecycle[self.staging] = "archived"
            self.audit_rows += 1
        self.lifecycle[version], self.staging = "staging", version
        self.audit_rows += 1

    def to_production(self, version: str) -> None:
        if self.production is not None:
            self.lifecycle[self.production] = "archived"
            self.previous = self.production
            self.audit_rows += 1
        self.lifecycle[version], self.production, self.staging = "production", version, None
        self.audit_rows += 1

    def rollback(self) -> None:
        assert self.production is not None and self.previous is not None
        self.lifecycle[self.production] = "archived"
        self.lifecycle[self.previous] = "production"
        self.production, self.previous = self.previous, None
        self.audit_rows += 2


def test_random_operation_sequences_keep_the_invariants(
    gov: Governance,
    run_id: str,
    tmp_path: Path,
    permissive_policy: Policy,
    strict_policy: Policy,
    waiting_policy: Policy,
) -> None:
    policies = dict(zip(POLICIES, (permissive_policy, strict_policy, waiting_policy), strict=True))
    examples = itertools.count()

    class Lifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            n = next(examples)
            self.name = f"PropModel{n}"
            self.engine = sa.create_engine(f"sqlite:///{tmp_path / f'state{n}.db'}")
            ensure_schema(self.engine)
            self.client = gov.client
            self.expected = Expected()
            self.clock = T0

        def now(self) -> dt.datetime:
            self.clock += dt.timedelta(minutes=1)
            return self.clock

        def pick(self, index: int) -> str:
            return str(index % len(self.expected.lifecycle) + 1)

        def teardown(self) -> None:
            self.engine.dispose()

        @rule()
        def register(self) -> None:
            info = register_run(self.client, self.engine, run_id, self.now(), "t", self.name)
            assert info.version == str(len(self.expected.lifecycle) + 1)
            self.expected.lifecycle[info.version] = "none"
            self.expected.audit_rows += 1

        @initialize()
        def two_versions(self) -> None:
            self.register()
            self.register()

        def stage(self, version: str) -> None:
            args = (self.client, self.engine, self.name, version, "staging")
            if self.expected.lifecycle[version] != "none":
                with pytest.raises(TransitionError):
                    promote(*args, permissive_policy, self.now(), "t")
                return
            promote(*args, permissive_policy, self.now(), "t")
            self.expected.to_staging(version)

        @rule(index=st.integers(0, 20))
        def to_staging(self, index: int) -> None:
            self.stage(self.pick(index))

        @precondition(lambda self: "none" in self.expected.lifecycle.values())
        @rule()
        def newest_to_staging(self) -> None:
            fresh = [v for v, state in self.expected.lifecycle.items() if state == "none"]
            self.stage(fresh[-1])

        def produce(self, version: str, force: bool, policy: str) -> None:
            args = (self.client, self.engine, self.name, version, "production", policies[policy])
            reason = "operator override" if force else ""
            if self.expected.lifecycle[version] != "staging":
                with pytest.raises(TransitionError):
                    promote(*args, self.now(), "t", force=force, reason=reason)
                return
            self.expected.audit_rows += 1  # the evaluation
            if policy == "permissive" and self.expected.production is None:
                verdict = "promote"
            else:
                verdict = "reject" if policy == "strict" else "keep_in_staging"
            if force or verdict == "promote":
                result = promote(*args, self.now(), "t", force=force, reason=reason)
                assert result.action == ("promote" if verdict == "promote" else "force")
                self.expected.to_production(version)
                return
            with pytest.raises(PromotionRefused) as refused:
                promote(*args, self.now(), "t")
            assert refused.value.evaluation.decision.verdict == verdict
            if verdict == "reject":
                self.expected.lifecycle[version] = "archived"
                self.expected.staging = None
                self.expected.audit_rows += 1

        @rule(index=st.integers(0, 20), force=st.booleans(), policy=st.sampled_from(POLICIES))
        def to_production(self, index: int, force: bool, policy: str) -> None:
            self.produce(self.pick(index), force, policy)

        @precondition(lambda self: self.expected.staging is not None)
        @rule(force=st.booleans(), policy=st.sampled_from(POLICIES))
        def staging_to_production(self, force: bool, policy: str) -> None:
            assert self.expected.staging is not None
            self.produce(self.expected.staging, force, policy)

        def command(self) -> Governance:
            """A fresh lifecycle for one command, a minute later."""
            return Governance(self.client, self.engine, self.name, self.now(), "t")

        @rule()
        def rollback(self) -> None:
            if self.expected.production is None or self.expected.previous is None:
                with pytest.raises(NoPreviousVersion):
                    self.command().rollback("drift")
                return
            self.command().rollback("drift")
            self.expected.rollback()

        @precondition(lambda self: self.expected.staging is not None)
        @rule(step=st.integers(1, 5))
        def promotion_killed_then_repaired(self, step: int) -> None:
            version = self.expected.staging
            assert version is not None
            steps = 5 if self.expected.production is not None else 3
            with pytest.raises(Crash):
                promote(self.client, self.engine, self.name, version, "production",
                        permissive_policy, self.now(), "t", force=True, reason="r",
                        after_step=_crash_after(min(step, steps)))  # fmt: skip
            assert len(repair_pending(self.client, self.engine, self.now(), "next")) == 1
            self.expected.audit_rows += 2  # the evaluation and the repair note
            self.expected.to_production(version)

        @precondition(lambda self: self.expected.previous is not None)
        @rule(step=st.integers(1, 4))
        def rollback_killed_then_repaired(self, step: int) -> None:
            with pytest.raises(Crash):
                self.command().rollback("drift", after_step=_crash_after(step))
            assert len(repair_pending(self.client, self.engine, self.now(), "next")) == 1
            self.expected.audit_rows += 1  # the repair note
            self.expected.rollback()

        @invariant()
        def registry_matches_the_model(self) -> None:
            trail = AuditTrail(self.engine)
            assert check_invariants(self.client, self.name, trail) == []
            assert pending_intents(self.engine) == []
            versions = list_versions(self.client, self.name)
            assert {v.version: v.lifecycle for v in versions} == self.expected.lifecycle
            assert aliases_of(self.client, self.name) == self.expected.aliases()
            assert len(trail.since()) == self.expected.audit_rows

    budget = settings(
        max_examples=12,
        stateful_step_count=15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    run_state_machine_as_test(Lifecycle, settings=budget)
