"""A real HTTP server on 127.0.0.1 that replays recorded JSON responses.

Routes come from fixture files (a list of {"path", "query", "status", "headers", "body"};
"query" entries must all match the request's) and from one-off responses queued by a test
(e.g. a 429 before the recorded 200). Every request is recorded (path and query) so tests
can check what was asked; the server never touches the network.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Route:
    """One recorded response: a path, the query values it needs, status, headers, body."""

    path: str
    body: Any
    query: dict[str, str] = field(default_factory=dict)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, path: str, query: dict[str, str]) -> bool:
        return path == self.path and all(query.get(k) == v for k, v in self.query.items())


class ReplayServer:
    """Serve routes on 127.0.0.1:<free port>; use as a context manager."""

    def __init__(self, *fixtures: Path) -> None:
        self.routes: list[Route] = []
        self.queued: list[Route] = []
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        for fixture in fixtures:
            for entry in json.loads(fixture.read_text(encoding="utf-8")):
                self.routes.append(Route(**entry))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def queue(self, path: str, status: int, body: Any = None, **headers: str) -> None:
        """Answer the next request to `path` with this response, once."""
        self.queued.append(Route(path, body if body is not None else {}, {}, status, headers))

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self, raw_path: str) -> Route:
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append((parts.path, query))
            for i, route in enumerate(self.queued):
                if route.path == parts.path:
                    return self.queued.pop(i)
        for route in self.routes:
            if route.matches(parts.path, query):
                return route
        return Route(parts.path, {"message": f"no recorded response for {parts.path}"}, {}, 404)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = server._answer(self.path)
                payload = json.dumps(route.body).encode()
                self.send_response(route.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in route.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: requests are recorded in server.requests instead."""

        return Handler
