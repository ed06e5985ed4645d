"""nbaprops against a real `mlflow server` over HTTP: PostgreSQL backend, proxied artifacts.

The server is started the way docs/operations.md and compose.yaml start it (same flags, bound
to 127.0.0.1 here), the project trains and registers through http://127.0.0.1:<port>, and the
artifacts must land in the server's --artifacts-destination, never in the client's folders.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from nbaprops.data.feed import Feed
from nbaprops.settings import Settings
from nbaprops.tracking.setup import fluent_store, init_tracking
from nbaprops.training.pipeline import TrainSpec, train_and_log
from nbaprops.training.prepare import prepare
from tests.support.ports import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

MODEL_NAME = "nbaprops-pts"
#: The compose network reaches the server as mlflow:5000; MLflow 3 refuses unknown Host headers.
ALLOWED_HOSTS = "mlflow:5000,localhost:*,127.0.0.1:*"
STARTUP_SECONDS = 90.0


class PostgresDatabases(Protocol):
    """What this module needs of the `postgres_server` fixture (tests/support/postgres.py)."""

    def create_database(self, name: str) -> str: ...

    def drop_database(self, name: str) -> None: ...


@dataclass(frozen=True)
class TrackingServer:
    """A running `mlflow server` and where it keeps artifacts."""

    url: str
    port: int
    artifacts: Path
    log: Path


def _get(url: str, host: str | None = None) -> int:
    """HTTP status of a GET, with an optional Host header."""
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and its worker processes (their own process group), by id."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def tracking_server(
    postgres_server: PostgresDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrackingServer]:
    """`mlflow server` on a fresh PostgreSQL database, for the module (its start-up creates
    MLflow's schema, about 10 s); stopped afterwards."""
    tmp_path = tmp_path_factory.mktemp("tracking-server")
    database = f"mlflow_server_{os.getpid()}"
    postgres_url = postgres_server.create_database(database)
    artifacts = tmp_path / "server-artifacts"
    log = tmp_path / "mlflow-server.log"
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", postgres_url,
        "--artifacts-destination", str(artifacts),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", "1",
        "--allowed-hosts", ALLOWED_HOSTS,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "NBAPROPS_"))}
    env["MLFLOW_LOGGING_LEVEL"] = "WARNING"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"mlflow server exited:\n{log.read_text()}", pytrace=False)
            try:
                if _get(f"{url}/health") == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server not healthy:\n{log.read_text()}", pytrace=False)
            time.sleep(0.25)
        yield TrackingServer(url, port, artifacts, log)
    finally:
        _stop(process)
        postgres_server.drop_database(database)


def test_train_and_register_through_the_tracking_server(
    tracking_server: TrackingServer, settings: Settings, small_feed: Feed
) -> None:
    remote = settings.model_copy(update={"tracking_uri": tracking_server.url})
    client = init_tracking(remote)
    experiment = client.get_experiment_by_name("Phase1_Foundation")
    assert experiment is not None
    assert experiment.artifact_location.startswith("mlflow-artifacts:")

    data = prepare(small_feed, "PTS", "full")
    spec = TrainSpec(params={"n_estimators": 20}, seed=3, n_jobs=1)
    result = train_and_log(
        data, spec, experiment.experiment_id, dt.date(2025, 1, 13), client=client
    )
    client.create_registered_model(MODEL_NAME)
    version = client.create_model_version(
        MODEL_NAME,
        source=result.model_uri,
        run_id=result.run_id,
        model_id=result.model_uri.removeprefix("models:/"),
    )
    client.set_registered_model_alias(MODEL_NAME, "champion", str(version.version))

    # The run, its metrics and the registry read back over HTTP.
    fresh = MlflowClient(tracking_uri=tracking_server.url)
    run = fresh.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["val_mae"] == pytest.approx(result.metrics["val_mae"])
    assert run.data.tags["model_uri"] == result.model_uri
    champion = fresh.get_model_version_by_alias(MODEL_NAME, "champion")
    assert (champion.run_id, champion.source) == (result.run_id, result.model_uri)
    assert "training_config.json" in {a.path for a in fresh.list_artifacts(result.run_id)}

    # The artifacts landed in the server's destination, and nothing in the client's folders.
    stored = {
        p.relative_to(tracking_server.artifacts) for p in tracking_server.artifacts.rglob("*")
    }
    run_files = {p.name for p in stored if result.run_id in p.parts}
    assert {"training_config.json", "probability_layer.pkl", "features.json"} <= run_files
    model_id = result.model_uri.removeprefix("models:/")
    assert any(model_id in p.parts and p.name == "MLmodel" for p in stored)
    assert not remote.resolved_artifact_root.exists()

    with fluent_store(client):
        model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    predictions = np.asarray(model.predict(data.X.head(10)))
    assert predictions.shape == (10,)
    assert np.isfinite(predictions).all()


def test_the_server_answers_the_compose_host_name_and_refuses_others(
    tracking_server: TrackingServer,
) -> None:
    search = f"{tracking_server.url}/api/2.0/mlflow/experiments/search?max_results=1"
    assert _get(search, host=f"127.0.0.1:{tracking_server.port}") == 200
    assert _get(search, host="mlflow:5000") == 200
    assert _get(search, host="attacker.example:5000") in (400, 403)
