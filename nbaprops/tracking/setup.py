"""Create the tracking store and the project's experiments, once and idempotently.

The embedded default is a SQLite store in the state folder with a local artifact folder.
A fresh SQLite store must be created by one process before any parallel work starts (two
processes racing on the schema fail with "duplicate column name"), so creation runs under
a file lock in the state folder.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mlflow
from filelock import FileLock
from mlflow.entities import Experiment
from mlflow.tracking import MlflowClient
from mlflow.tracking._model_registry import utils as _registry_utils
from mlflow.tracking._tracking_service import utils as _tracking_utils

from nbaprops.settings import Settings
from nbaprops.tracking.outage import store_errors

PROJECT_TAG = "nba_props"


@dataclass(frozen=True)
class Phase:
    """One phase of the project's experiment plan."""

    key: str
    experiment: str
    description: str


PHASES: tuple[Phase, ...] = (
    Phase("foundation", "Phase1_Foundation", "Baselines and core features: is there signal?"),
    Phase("advanced", "Phase2_Advanced", "Contextual and temporal features, tuning, ensembles."),
    Phase("calibration", "Phase3_Calibration", "Probability of the over: isotonic vs Platt."),
    Phase("production", "Phase4_Production", "Walk-forward backtests and production candidates."),
)
MONITORING_EXPERIMENT = "Monitoring_Governance"
MONITORING_DESCRIPTION = "Governance decisions, drift checks and rollbacks."


class UnknownPhaseError(ValueError):
    """A phase name that is not one of the project's four phases."""


def phase_by_key(key: str) -> Phase:
    """Look a phase up by its short key ('foundation') or experiment name ('Phase1_Foundation')."""
    for phase in PHASES:
        if key.lower() in (phase.key, phase.experiment.lower()):
            return phase
    choices = ", ".join(p.key for p in PHASES)
    raise UnknownPhaseError(f"unknown phase {key!r}; choose one of: {choices}")


def quiet_mlflow() -> None:
    """Keep MLflow's and Alembic's INFO chatter out of the CLI output."""
    for name in ("mlflow", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _is_database_store(uri: str) -> bool:
    return uri.split(":", 1)[0].split("+", 1)[0] in {"sqlite", "postgresql", "mysql", "mssql"}


def _ensure_experiment(
    client: MlflowClient, name: str, description: str, tags: dict[str, str], artifacts: Path | None
) -> Experiment:
    """Create the experiment if absent, restore it if deleted; never touch Default."""
    existing = client.get_experiment_by_name(name)
    if existing is None:
        location = (artifacts / name).as_uri() if artifacts is not None else None
        all_tags = {**tags, "mlflow.note.content": description}
        client.create_experiment(name, artifact_location=location, tags=all_tags)
        existing = client.get_experiment_by_name(name)
    elif existing.lifecycle_stage == "deleted":
        client.restore_experiment(existing.experiment_id)
        existing = client.get_experiment(existing.experiment_id)
    assert existing is not None
    return existing


def store_uris(client: MlflowClient) -> tuple[str, str]:
    """The tracking and registry URIs a client was built with."""
    return str(client._tracking_client.tracking_uri), str(client._registry_uri)


@contextmanager
def fluent_store(client: MlflowClient) -> Iterator[None]:
    """Point MLflow's fluent API (autologging, log_model, start_run) at `client`'s store.

    This is the one place project code sets MLflow's global store. It restores the previous
    store and the MLFLOW_TRACKING_URI/MLFLOW_REGISTRY_URI variables on exit: set_tracking_uri
    exports the variable, and Settings reads it first, so a later Settings in the same process
    would otherwise silently use this store, and two stores in one process could cross.
    """
    tracking_uri, registry_uri = store_uris(client)
    env = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    before_tracking = _tracking_utils._tracking_uri
    before_registry = _registry_utils._registry_uri
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(registry_uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(before_tracking)  # type: ignore[arg-type]
        _registry_utils._registry_uri = before_registry
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def tracking_client(settings: Settings) -> MlflowClient:
    """A client on the configured store, with explicit tracking and registry URIs."""
    uri = settings.resolved_tracking_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def init_tracking(settings: Settings) -> MlflowClient:
    """A client on the configured store, with the project's experiments created (idempotent).

    MLflow's global (fluent) store is left alone: code that needs it enters fluent_store.
    """
    quiet_mlflow()
    settings.home.mkdir(parents=True, exist_ok=True)
    uri = settings.resolved_tracking_uri
    if uri.startswith("file:"):
        raise ValueError(
            "MLflow's file store is refused by MLflow 3; use sqlite:///path/mlflow.db "
            "or a PostgreSQL URI (see README)"
        )
    artifacts = settings.resolved_artifact_root if _is_database_store(uri) else None
    if artifacts is not None:
        artifacts.mkdir(parents=True, exist_ok=True)
    with FileLock(str(settings.home / ".tracking-init.lock"), timeout=120):
        client = tracking_client(settings)
        with store_errors(client):  # a store that is down: StoreUnavailableError naming it
            for phase in PHASES:
                tags = {"project": PROJECT_TAG, "phase": phase.key}
                _ensure_experiment(client, phase.experiment, phase.description, tags, artifacts)
            _ensure_experiment(
                client,
                MONITORING_EXPERIMENT,
                MONITORING_DESCRIPTION,
                {"project": PROJECT_TAG, "phase": "monitoring"},
                artifacts,
            )
    return client
