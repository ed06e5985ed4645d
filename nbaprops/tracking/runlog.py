"""Small helpers to log a run's content efficiently: batched metrics, one artifact upload."""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import mlflow

import nbaprops


def finite_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    """Drop NaN/inf values, which MLflow would store but no comparison can use."""
    return {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))}


def log_metrics(metrics: Mapping[str, float]) -> None:
    """One batched call (per-metric calls cost ~15 ms each on SQLite)."""
    clean = finite_metrics(metrics)
    if clean:
        mlflow.log_metrics(clean)


def write_json(path: Path, payload: Any) -> Path:
    """Write pretty JSON (sorted keys) and return the path."""
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    return path


@lru_cache(maxsize=1)
def code_version() -> str:
    """Package version plus the git commit of the working tree when there is one."""
    root = Path(nbaprops.__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    version = getattr(nbaprops, "__version__", "0")
    return f"{version}+{sha}" if sha else version
