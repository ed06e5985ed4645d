"""The environment a subprocess (a job, the CLI, a daemon) needs to build exactly some settings."""

from __future__ import annotations

import os
from typing import Any

from nbaprops.settings import Settings


def settings_environment(settings: Settings, **extra: Any) -> dict[str, str]:
    """This process's environment without its own NBAPROPS_ variables and MLflow URI, with every
    field of `settings` spelled out (as the daemon passes them to a job) and `extra` on top."""
    from jobs.daemon.child import child_environment
    from jobs.daemon.recovery import RUN_CONTEXT_VARIABLE

    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("NBAPROPS_") and key != "MLFLOW_TRACKING_URI"
    }
    env = child_environment(settings, base, {})
    env.pop(RUN_CONTEXT_VARIABLE, None)
    env.update(MLFLOW_LOGGING_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    env.update({key: str(value) for key, value in extra.items()})
    return env
