"""Tell "absent" from "the store is down": only RESOURCE_DOES_NOT_EXIST means absent.

MLflow raises one exception type for both a missing registered model and a tracking server
that refuses connections (INTERNAL_ERROR), a locked SQLite store or a restarted PostgreSQL
(TEMPORARILY_UNAVAILABLE). Reading every MlflowException as "absent" turns an outage into "no
Production model"; these helpers keep the two apart and name the store, password masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy.exc
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    ErrorCode,
)
from mlflow.tracking import MlflowClient

from nbaprops.settings_env import MASK

#: user:password@ inside a URL; the password stops at '@', '/' or whitespace (never spans lines).
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@/\s]+@")
ABSENT_CODE = ErrorCode.Name(RESOURCE_DOES_NOT_EXIST)
#: Codes that describe the request, not the store: they propagate unchanged.
REQUEST_CODES = frozenset(
    ErrorCode.Name(c) for c in (INVALID_PARAMETER_VALUE, RESOURCE_ALREADY_EXISTS)
)


class StoreUnavailableError(RuntimeError):
    """The MLflow tracking store did not answer (down, refusing, locked, failing)."""

    def __init__(self, uri: str, detail: str) -> None:
        self.uri = mask_passwords(uri)
        self.detail = mask_passwords(detail)
        super().__init__(
            f"the MLflow tracking store {self.uri} is unavailable ({self.detail}); check that "
            "it is running and reachable (NBAPROPS_TRACKING_URI), then run the job again"
        )


def mask_passwords(text: str) -> str:
    """`text` with the password of every URL in it replaced by the mask."""
    return _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text)


def is_absent(exc: MlflowException) -> bool:
    """True only when MLflow says the thing asked for does not exist."""
    return exc.error_code == ABSENT_CODE


def is_outage(exc: MlflowException) -> bool:
    """True when `exc` is about the store (unreachable, failing), not about the request."""
    return not is_absent(exc) and exc.error_code not in REQUEST_CODES


def tracking_uri_of(client: MlflowClient) -> str:
    """The tracking URI `client` was built with."""
    return str(client._tracking_client.tracking_uri)


def unavailable(client: MlflowClient, exc: BaseException) -> StoreUnavailableError:
    """The error to raise for `exc`, naming `client`'s store."""
    text = exc.message if isinstance(exc, MlflowException) else str(exc)
    first_line = str(text).strip().splitlines()[0] if str(text).strip() else type(exc).__name__
    return StoreUnavailableError(tracking_uri_of(client), first_line)


def outage_of(uri: str, exc: BaseException) -> StoreUnavailableError | None:
    """`exc` as StoreUnavailableError when it is a tracking-store outage met outside the
    registry's reads (a training run logging to a server that died); None otherwise."""
    if isinstance(exc, StoreUnavailableError):
        return exc
    if isinstance(exc, MlflowException) and is_outage(exc):
        text = str(exc.message).strip()
        return StoreUnavailableError(uri, text.splitlines()[0] if text else exc.error_code)
    return None


@contextmanager
def store_errors(client: MlflowClient) -> Iterator[None]:
    """Raise StoreUnavailableError for an outage met inside the block.

    An absent thing or a bad request propagates as MLflow raised it; connection errors, 5xx,
    locked or restarted databases become StoreUnavailableError (the cause is not chained, so
    no password in the store's URL reaches a log or a job-history row).
    """
    try:
        yield
    except MlflowException as exc:
        if is_outage(exc):
            raise unavailable(client, exc) from None
        raise
    except FileNotFoundError:
        raise  # a missing local file is absent, not an outage
    except (OSError, sqlalchemy.exc.OperationalError) as exc:
        raise unavailable(client, exc) from None


__all__ = [
    "ABSENT_CODE",
    "StoreUnavailableError",
    "is_absent",
    "is_outage",
    "mask_passwords",
    "outage_of",
    "store_errors",
    "tracking_uri_of",
    "unavailable",
]
