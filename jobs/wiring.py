"""The one wiring point: the stores, model name, policy and clock built once from Settings.

The CLI and the scheduled jobs both start here, so they govern the same registered model in
the same MLflow store (explicit tracking and registry URIs, never MLflow's global state) and
the same state database; every function below takes what it needs from this object.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import sqlalchemy as sa
from mlflow.tracking import MlflowClient

from governance.audit import AuditTrail
from governance.policy import Policy, load_policy
from nbaprops.settings import Settings
from nbaprops.statedb import state_engine
from nbaprops.tracking.setup import init_tracking

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The real clock (aware, UTC); tests and replays inject their own."""
    return dt.datetime.now(dt.UTC)


@dataclass
class App:
    """Settings plus the stores, registered model name, policy and clock derived from them."""

    settings: Settings
    client: MlflowClient
    engine: sa.Engine
    clock: Clock = utc_now

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = utc_now) -> App:
        """Create the tracking store and experiments (idempotent) and connect the state DB."""
        return cls(settings, init_tracking(settings), state_engine(settings), clock)

    @property
    def model_name(self) -> str:
        """The registered model every command and job governs (NBAPROPS_REGISTERED_MODEL)."""
        return self.settings.registered_model

    @cached_property
    def policy(self) -> Policy:
        """The promotion policy NBAPROPS_POLICY_FILE names (the packaged default when unset)."""
        return load_policy(self.settings.policy_file)

    def audit(self) -> AuditTrail:
        """The audit trail in the state database, its table created if missing."""
        trail = AuditTrail(self.engine)
        trail.ensure_schema()
        return trail
