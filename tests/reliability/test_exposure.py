"""Exposure: every server the project starts binds 127.0.0.1, and models load only from the
project's own registry. (The image's non-root user is pinned by tests/deploy.)"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from governance.registry import MODEL_NAME, UnknownVersionError, list_versions
from governance.serving import load_version
from nbaprops.settings import Settings
from nbaprops.tracking.setup import init_tracking

TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".sh", ".txt", ".j2"}
TEXT_NAMES = {"Dockerfile", "Makefile", "compose.yaml"}
SKIPPED_DIRS = {
    ".venv", ".git", "mlruns", ".nbaprops", "node_modules", "__pycache__", ".mypy_cache",
    ".ruff_cache", ".pytest_cache", "nbaprops.egg-info",
}  # fmt: skip
ANY_ADDRESS = "0.0.0.0"
# Where 0.0.0.0 may appear: inside the compose network only (published ports stay on
# 127.0.0.1), the guide's table describing those containers, and the tests that pin both.
ANY_ADDRESS_ALLOWED = {
    "compose.yaml",
    "docs/operations.md",
    "tests/deploy/test_container_files.py",
    "tests/reliability/test_exposure.py",
}
# Calls that start a server, and the keyword that says where it listens.
SERVER_CALLS = {"Controller(": "hostname", "LocalCluster(": "host"}
PRODUCT_PACKAGES = ("nbaprops", "governance", "jobs")


def text_files(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        if any(part in SKIPPED_DIRS for part in path.relative_to(root).parts):
            continue
        if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES):
            yield path


def call_text(source: str, start: int) -> str:
    """The text of a call from `start` (its name) to its closing parenthesis."""
    depth, end = 0, source.index("(", start)
    while end < len(source):
        depth += {"(": 1, ")": -1}.get(source[end], 0)
        if depth == 0:
            break
        end += 1
    return source[start : end + 1]


def test_no_server_listens_on_every_interface_outside_the_compose_network(
    repository_root: Path,
) -> None:
    offenders = [
        f"{path.relative_to(repository_root)}:{number}: {line.strip()}"
        for path in text_files(repository_root)
        if str(path.relative_to(repository_root)) not in ANY_ADDRESS_ALLOWED
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if ANY_ADDRESS in line
    ]
    assert offenders == []
    compose = yaml.safe_load((repository_root / "compose.yaml").read_text())
    for name, service in compose["services"].items():
        command = " ".join(map(str, service.get("command") or []))
        if ANY_ADDRESS in command:  # listens on the container network: published on loopback
            for port in service.get("ports") or []:
                published = port.get("host_ip") if isinstance(port, dict) else str(port)
                assert str(published).startswith("127.0.0.1"), (name, port)


def test_every_server_started_in_code_or_documented_binds_loopback(repository_root: Path) -> None:
    checked: set[str] = set()
    documented = 0
    for path in text_files(repository_root):
        where = path.relative_to(repository_root)
        source = path.read_text(errors="replace")
        if path.suffix == ".py" and path != Path(__file__).resolve():
            for call, keyword in SERVER_CALLS.items():
                for match in re.finditer(re.escape(call), source):
                    text = call_text(source, match.start())
                    assert re.search(rf'{keyword}\s*=\s*"127\.0\.0\.1"', text), (where, text)
                    checked.add(str(where))
            for match in re.finditer(r"\.bind\(\(", source):
                text = call_text(source, match.start() + 1)
                assert '"127.0.0.1"' in text, (where, text)
                checked.add(str(where))
        if str(where) in ANY_ADDRESS_ALLOWED - {"docs/operations.md"}:
            continue
        # `mlflow server` / `mlflow ui` as documented or scripted: loopback (MLflow's default)
        joined = source.replace("\\\n", " ")
        for match in re.finditer(r"mlflow (server|ui)\b[^\n`|]*", joined):
            command = match.group(0)
            host = re.search(r"--host[ =]\s*\"?([\w.:]+)", command)
            if host is not None and host.group(1) == ANY_ADDRESS:
                assert "postgres:5432" in command, (where, command)  # the compose container
                continue
            assert host is None or host.group(1) == "127.0.0.1", (where, command)
            documented += 1
    # the scan reached every place that starts a server: the demo's and the tests' SMTP
    # servers, the free-port probe, the Dask clusters of the product and of the tests
    assert {
        "jobs/demo.py",
        "nbaprops/distributed.py",
        "tests/support/dask_cluster.py",
        "tests/support/ports.py",
        "tests/support/smtp.py",
    } <= checked
    assert documented >= 3  # `mlflow ui` in the Makefile and README, `mlflow server` in the guide


def test_models_are_loaded_by_registry_version_only(repository_root: Path) -> None:
    """The only loader of models and pickles is governance/serving.py, by models:/NAME/VERSION
    of the configured registry, and the probability layer from that version's own run (the
    walk-forward's folds share the prepared data in threads of one process: nothing is
    pickled to reach them)."""
    loaders = re.compile(r"(load_model|pickle\.loads?|joblib\.load|torch\.load)\(")
    found: dict[str, list[str]] = {}
    for package in PRODUCT_PACKAGES:
        for path in (repository_root / package).rglob("*.py"):
            for match in loaders.finditer(path.read_text()):
                source = path.read_text()
                found.setdefault(str(path.relative_to(repository_root)), []).append(
                    call_text(source, match.start())
                )
    assert set(found) == {"governance/serving.py"}, found
    calls = found["governance/serving.py"]
    assert any(c.startswith('load_model(f"models:/{name}/{info.version}")') for c in calls), calls
    assert not any("runs:/" in c or "http" in c or "file:" in c for c in calls), calls


def test_a_version_loads_from_the_configured_registry_and_from_nowhere_else(
    lived_in_settings: Settings, tmp_path: Path
) -> None:
    client = init_tracking(lived_in_settings)
    (version,) = list_versions(client, MODEL_NAME)
    assert version.tags["model_uri"].startswith("models:/m-")  # a model logged in this store
    assert client.get_logged_model(version.tags["model_uri"].removeprefix("models:/")) is not None
    served = load_version(client, version.version)
    assert served.version.run_id == version.run_id

    # Another store (a copy without the registered model): the version is not found there,
    # and nothing falls back to the first store.
    another = tmp_path / "another"
    another.mkdir()
    shutil.copyfile(lived_in_settings.home / "mlflow.db", another / "mlflow.db")
    other: MlflowClient = init_tracking(lived_in_settings.model_copy(update={"home": another}))
    other.delete_registered_model(MODEL_NAME)
    with pytest.raises(UnknownVersionError):
        load_version(other, version.version)  # not found here; no fallback to another store
