"""`python -m jobs.daemon.child NAME RUN_FOR --result FILE`: run one job in a process of its own.

The runner starts this process for heavy jobs so that a hung job can be stopped: SIGTERM
raises `Terminated` in the job (MLflow `with` blocks then end their runs as FAILED), and
SIGKILL follows if it does not exit. The outcome goes to FILE as JSON. If the parent dies
(the daemon was killed), the child terminates itself rather than run on unsupervised.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from pydantic import AliasChoices, SecretStr

if TYPE_CHECKING:
    from nbaprops.settings import Settings

EXIT_FAILED = 1
EXIT_TERMINATED = 128 + signal.SIGTERM
#: how often the child checks its parent: a tenth of a second, so an orphaned training run is
#: stopped (its MLflow run FAILED) before it can finish unsupervised on a fast machine
PARENT_POLL_SECONDS = 0.1
ORPHAN_KILL_GRACE_SECONDS = 30.0


class Terminated(BaseException):
    """Raised in the job when the runner (or a dead parent) asks the child to stop."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"received signal {signum}")


def _watch_parent(parent_pid: int) -> None:
    """Terminate this process if its parent goes away (it would otherwise run unsupervised)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(ORPHAN_KILL_GRACE_SECONDS)
        os._exit(EXIT_TERMINATED)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def child_command(name: str, run_for: dt.date, result_file: Path) -> list[str]:
    """The command line that runs job `name` for `run_for` in a child process."""
    return [sys.executable, "-m", "jobs.daemon.child", name, run_for.isoformat(), "--result",
            str(result_file)]  # fmt: skip


def child_environment(
    settings: Settings, base: Mapping[str, str], run_tags: Mapping[str, str]
) -> dict[str, str]:
    """`base` with every Settings field spelled out, so the child builds the parent's exact
    Settings (even ones made in code, not from the environment), plus the MLflow run tags."""
    from jobs.daemon.recovery import RUN_CONTEXT_VARIABLE, run_context

    env = dict(base)
    prefix = str(type(settings).model_config.get("env_prefix", ""))
    for name, info in type(settings).model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names = [c for c in alias.choices if isinstance(c, str) and c.isupper()]
        else:
            names = [f"{prefix}{name}".upper()]
        for variable in names:
            env.pop(variable, None)
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, Path):
            value = value.resolve()
        env[names[0]] = str(value)
    env[RUN_CONTEXT_VARIABLE] = run_context(base.get(RUN_CONTEXT_VARIABLE), run_tags)
    return env


def write_outcome(path: Path, payload: dict[str, Any]) -> None:
    """Write the outcome atomically (temp file, then rename)."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(payload, sort_keys=True, default=str), encoding="utf-8")
    os.replace(temporary, path)


def run_job(name: str, run_for: dt.date) -> dict[str, Any]:
    """Run the job called `name` for `run_for`; the outcome as a JSON-able dict."""
    from jobs.daemon.catalogue import lookup
    from jobs.daemon.types import JobResult
    from nbaprops.settings import Settings

    settings: Settings | None = None
    try:
        settings = Settings()
        result = lookup(name).resolve()(settings, run_for)
        if not isinstance(result, JobResult):
            raise TypeError(f"job {name} returned {type(result).__name__}; return a JobResult")
        return result.to_dict()
    except Terminated as exc:
        return {"status": "terminated", "error": f"job stopped: {exc}"}
    except Exception as exc:
        return {"status": "failed", "error": failure_text(settings, exc)}


def failure_text(settings: Settings | None, exc: Exception) -> str:
    """The traceback of a failed job, passwords masked, ending with the store that was down
    when the failure was a tracking-store outage (so the history row names it)."""
    from nbaprops.tracking.outage import mask_passwords, outage_of

    text = mask_passwords(traceback.format_exc())
    outage = None if settings is None else outage_of(settings.resolved_tracking_uri, exc)
    if outage is not None and not isinstance(exc, type(outage)):
        text = f"{text.rstrip()}\n{type(outage).__name__}: {outage}\n"
    return text


def main(argv: list[str] | None = None) -> int:
    """Entry point of the child process."""
    parser = argparse.ArgumentParser(prog="python -m jobs.daemon.child")
    parser.add_argument("name")
    parser.add_argument("run_for", type=dt.date.fromisoformat)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    _watch_parent(os.getppid())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    try:
        outcome = run_job(args.name, args.run_for)
    except Terminated as exc:  # arrived outside the job (while importing, say)
        outcome = {"status": "terminated", "error": f"job stopped: {exc}"}
    write_outcome(args.result, outcome)
    if outcome["status"] == "terminated":
        return EXIT_TERMINATED
    return EXIT_FAILED if outcome["status"] == "failed" else 0


if __name__ == "__main__":
    sys.exit(main())
