"""A real `mlflow server` on 127.0.0.1 that a test can kill -9 and start again on the same port.

The outage tests need a tracking store that goes away for real: the server runs as a process
group of its own over a backend store the test chooses (a SQLite file, a PostgreSQL URL),
serves artifacts from where the runs already point, and `kill()` SIGKILLs the whole group, so
a client gets "connection refused" exactly as it would from a crashed server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.ports import free_port

STARTUP_SECONDS = 90.0
ALLOWED_HOSTS = "localhost:*,127.0.0.1:*"
#: Client-side settings that make a dead server fail a request at once, not after minutes.
FAST_FAILING_CLIENT = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
}


class TrackingServer:
    """`mlflow server --backend-store-uri BACKEND` on a fixed port; start, kill, start again."""

    def __init__(self, backend_uri: str, folder: Path, port: int | None = None) -> None:
        self.backend_uri = backend_uri
        self.folder = folder
        self.port = port or free_port()
        self.log = folder / "mlflow-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TrackingServer:
        """Start the server and wait until /health answers (fail with its log otherwise)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", self.backend_uri,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", "1", "--allowed-hosts", ALLOWED_HOSTS,
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "NBAPROPS_"))}
        env["MLFLOW_LOGGING_LEVEL"] = "WARNING"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.folder,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self.healthy():
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited:\n{self.output()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"mlflow server not healthy in time:\n{self.output()}")
            time.sleep(0.25)
        return self

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                return int(response.status) == 200
        except (OSError, urllib.error.URLError):
            return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the server and its workers (its own process group), by id."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None
        deadline = time.monotonic() + 30
        while self.healthy() and time.monotonic() < deadline:  # a worker still answering
            time.sleep(0.1)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
