"""Absent or down: only RESOURCE_DOES_NOT_EXIST reads as "absent"; an outage raises, naming
the store with its password masked.

The stores are real: a SQLite store with no registered model (absent), an http:// URI on a
port where nothing listens (connection refused at once), and a SQLite store held under an
exclusive lock by another process (locked past its timeout).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from governance.evidence import version_evidence
from governance.registry import (
    UnknownVersionError,
    aliases_of,
    get_version,
    list_versions,
    version_by_alias,
)
from nbaprops.tracking.outage import StoreUnavailableError
from tests.support.ports import free_port
from tests.support.sqlite_lock import ExclusiveLock

MODEL = "NBAPropsModel"

READS: dict[str, Callable[[MlflowClient], Any]] = {
    "aliases_of": lambda client: aliases_of(client, MODEL),
    "get_version": lambda client: get_version(client, MODEL, "1"),
    "version_by_alias": lambda client: version_by_alias(client, MODEL, "production"),
    "list_versions": lambda client: list_versions(client, MODEL),
    "version_evidence": lambda client: version_evidence(client, MODEL, "1"),
}


@pytest.fixture(autouse=True)
def _fast_failing_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused connection fails the request at once (no retries with back-off)."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")


@pytest.fixture
def empty_store(tmp_path: Path) -> MlflowClient:
    """A real SQLite store where the registered model does not exist."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.search_experiments()  # creates the schema
    return client


@pytest.fixture
def down_store() -> MlflowClient:
    """An HTTP tracking server that is down: nothing listens on the port."""
    uri = f"http://nbaprops:s3cret-pw@127.0.0.1:{free_port()}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture
def locked_store(empty_store: MlflowClient, tmp_path: Path) -> Iterator[MlflowClient]:
    """The SQLite store held under an exclusive lock by another process for the whole test."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with ExclusiveLock(tmp_path / "mlflow.db") as lock:
        yield MlflowClient(tracking_uri=uri, registry_uri=uri)
        lock.release(timeout=30)


def test_a_model_absent_from_a_reachable_store_reads_as_absent(empty_store: MlflowClient) -> None:
    assert aliases_of(empty_store, MODEL) == {}
    assert version_by_alias(empty_store, MODEL, "production") is None
    assert list_versions(empty_store, MODEL) == []
    with pytest.raises(UnknownVersionError, match=r"has no version '1' \(versions: none yet"):
        get_version(empty_store, MODEL, "1")
    with pytest.raises(UnknownVersionError, match="has no version 'v1'"):
        get_version(empty_store, MODEL, "v1")  # not a number: unknown, never asked of the store


@pytest.mark.parametrize("read", list(READS), ids=list(READS))
def test_a_tracking_server_that_is_down_raises_naming_the_store(
    down_store: MlflowClient, read: str
) -> None:
    with pytest.raises(StoreUnavailableError) as raised:
        READS[read](down_store)
    message = str(raised.value)
    uri = str(down_store.tracking_uri).replace("s3cret-pw", "********")
    assert f"the MLflow tracking store {uri} is unavailable" in message
    assert "Connection refused" in message and "NBAPROPS_TRACKING_URI" in message
    assert "s3cret-pw" not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__  # no leak


def test_a_sqlite_store_locked_past_its_timeout_raises_naming_the_store(
    locked_store: MlflowClient,
) -> None:
    with pytest.raises(StoreUnavailableError, match=r"sqlite:///.*mlflow\.db is unavailable"):
        aliases_of(locked_store, MODEL)
