"""Create the tracking store and the project's experiments, once and idempotently.

The embedded default is a SQLite store in the state folder with a local artifact folder.
A fresh SQLite store must be created by one process before any parallel work starts (two
processes racing on the schema fail with "duplicate column name"), so creation runs under
a file lock in the state folder.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import mlflow
from filelock import FileLock
from mlflow.entities import Experiment
from mlflow.tracking import MlflowClient

from nbaprops.settings import Settings

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


def _set_fluent_uris(uri: str) -> None:
    """Point the fluent API at `uri` without leaking it into MLFLOW_TRACKING_URI.

    mlflow.set_tracking_uri also exports the variable, and Settings reads that variable first,
    so a second Settings built later in the same process would silently use this store.
    """
    before = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def init_tracking(settings: Settings) -> MlflowClient:
    """Point MLflow at the configured store and create the project's experiments (idempotent)."""
    quiet_mlflow()
    settings.home.mkdir(parents=True, exist_ok=True)
    uri = settings.resolved_tracking_uri
    if uri.startswith("file:"):
        raise ValueError(
            "MLflow's file store is refused by MLflow 3; use sqlite:///path/mlflow.db "
            "or a PostgreSQL URI (see README)"
        )
    _set_fluent_uris(uri)
    artifacts = settings.resolved_artifact_root if _is_database_store(uri) else None
    if artifacts is not None:
        artifacts.mkdir(parents=True, exist_ok=True)
    with FileLock(str(settings.home / ".tracking-init.lock"), timeout=120):
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
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
