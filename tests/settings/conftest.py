"""A clean environment for the settings tests: no NBAPROPS_* variable, no .env in the way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder with no NBAPROPS_* (or MLflow URI) variable set."""
    for name in list(os.environ):
        if name.upper().startswith("NBAPROPS_") or name == "MLFLOW_TRACKING_URI":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NBAPROPS_HOME", str(tmp_path / "home"))
    return tmp_path
