"""A polite JSON client: one call at a time at most every `min_interval` seconds, retries
with exponential backoff (or the server's Retry-After) on 429 and 5xx, and a clear error
naming the variable to set on 401/403. The query string is never logged (it may hold a key).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests


class FetchError(RuntimeError):
    """A source failed in a way retrying does not fix; the message says what to do."""


class FetchAuthError(FetchError):
    """The source refused the credentials (401/403); names the variable to set."""


RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class PoliteClient:
    """GET JSON with rate limit and retries; `sleep` and `clock` are injectable for tests."""

    min_interval: float = 1.0
    retries: int = 4
    backoff: float = 1.0
    timeout: float = 30.0
    auth_variable: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    calls: int = 0
    retried: int = 0
    last_headers: dict[str, str] = field(default_factory=dict)
    _last_call: float | None = None
    _session: requests.Session = field(default_factory=requests.Session)

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        """The decoded JSON body of GET url?params, after polite waiting and retries."""
        for attempt in range(self.retries + 1):
            self._wait_turn()
            try:
                response = self._session.get(
                    url, params=dict(params or {}), headers=dict(self.headers), timeout=self.timeout
                )
            except requests.RequestException as exc:
                if attempt == self.retries:
                    raise FetchError(f"{url}: {type(exc).__name__}; check the network") from None
                self._back_off(attempt, None)
                continue
            self.calls += 1
            self.last_headers = {k.lower(): v for k, v in response.headers.items()}
            status = response.status_code
            if status in (401, 403):
                hint = f"; set {self.auth_variable} to a valid key" if self.auth_variable else ""
                raise FetchAuthError(f"{url} refused the request (HTTP {status}){hint}")
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                self._back_off(attempt, response.headers.get("Retry-After"))
                continue
            if response.status_code >= 400:
                raise FetchError(f"{url} answered HTTP {status} after {attempt + 1} tries")
            try:
                return response.json()
            except ValueError:
                raise FetchError(f"{url} did not answer JSON") from None
        raise FetchError(f"{url}: no answer after {self.retries + 1} tries")

    def _wait_turn(self) -> None:
        """Sleep so that calls are at least `min_interval` seconds apart."""
        now = self.clock()
        if self._last_call is not None:
            gap = self.min_interval - (now - self._last_call)
            if gap > 0:
                self.sleep(gap)
        self._last_call = self.clock()

    def _back_off(self, attempt: int, retry_after: str | None) -> None:
        """Wait before the next try: the server's Retry-After, else backoff * 2**attempt."""
        self.retried += 1
        delay = self.backoff * 2**attempt
        if retry_after and retry_after.strip().isdigit():
            delay = float(retry_after)
        self.sleep(min(delay, 120.0))
