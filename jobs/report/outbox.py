"""A folder of .eml files that reports wait in until an SMTP server has accepted them.

Every report is written to the outbox first (atomically: temp file, fsync, rename), then the
outbox is flushed oldest first. A file leaves the pending set only after the server accepted
it, so an outage, a crash or a full disk never loses a report.

Layout of `<folder>`:
    <stamp>-<id>.eml           pending, oldest first by name
    <stamp>-<id>.eml.sending   handed to the server, acceptance not yet recorded
    sent/<stamp>-<id>.eml      accepted by the server
    rejected/<stamp>-<id>.eml  refused for good by the server (5xx on recipients or data)

Delivery is at-least-once. SMTP has no idempotent send: between the server's "250 accepted"
and our rename into sent/ lies a window of a few milliseconds in which a crash leaves a file
in `.sending`, and nothing on our side can tell whether the server got it. A flush (which
holds a lock, so a `.sending` file it finds was left by a dead flush) therefore puts such a
file back in the pending set and sends it again, with a warning. Losing a weekly report is
worse than a rare duplicate, and the duplicate carries the same Message-ID, so mail systems
that de-duplicate on it drop it. `put` is idempotent per Message-ID for the same reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from functools import partial
from pathlib import Path

from filelock import FileLock, Timeout

from jobs.report.mailer import (
    MessageRejectedError,
    SmtpConfig,
    compose_message,
    send_message,
)
from jobs.report.render import RenderedReport

log = logging.getLogger(__name__)

PENDING = ".eml"
SENDING = ".eml.sending"
SENT_DIR = "sent"
REJECTED_DIR = "rejected"
LOCK_NAME = ".flush.lock"

SendFn = Callable[[EmailMessage], object]


class OutboxError(Exception):
    """The outbox folder could not be written or read."""


class OutboxBusyError(OutboxError):
    """Another process is flushing the same outbox right now."""


@dataclass(frozen=True)
class FlushResult:
    """What one flush did: files sent or rejected, the one that failed, and what still waits."""

    sent: tuple[Path, ...] = ()
    rejected: tuple[Path, ...] = ()
    failed: Path | None = None
    error: str | None = None
    remaining: tuple[Path, ...] = ()
    resent_after_crash: tuple[Path, ...] = ()

    @property
    def ok(self) -> bool:
        """True when nothing is left waiting and nothing failed."""
        return self.failed is None and not self.remaining


def _stamp(now: dt.datetime) -> str:
    """A lexically sortable UTC timestamp to the microsecond (naive times are taken as UTC)."""
    if now.tzinfo is not None:
        now = now.astimezone(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def _id_suffix(message_id: str) -> str:
    """A short, filename-safe digest of a Message-ID."""
    return hashlib.sha256(message_id.strip().encode()).hexdigest()[:12]


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that `path` is either absent or complete, never partial."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _move(source: Path, target: Path) -> None:
    """Rename durably: the file is in exactly one of the two places, before and after."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    _fsync_dir(target.parent)
    if target.parent != source.parent:
        _fsync_dir(source.parent)


def read_message(path: Path) -> EmailMessage:
    """Parse an .eml file of the outbox back into an EmailMessage."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OutboxError(
            f"could not read {path}: {exc.strerror or exc}; fix the file's permissions"
        ) from exc
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


class Outbox:
    """Reports waiting to be sent, as .eml files in `folder` (see the module doc for layout)."""

    def __init__(self, folder: Path, lock_timeout: float = 5.0) -> None:
        self.folder = Path(folder)
        self.lock_timeout = lock_timeout

    @property
    def sent_dir(self) -> Path:
        return self.folder / SENT_DIR

    @property
    def rejected_dir(self) -> Path:
        return self.folder / REJECTED_DIR

    def pending(self) -> list[Path]:
        """Messages waiting to be sent, oldest first."""
        return self._list(self.folder, PENDING)

    def sending(self) -> list[Path]:
        """Messages handed to a server whose acceptance was never recorded (a crashed flush)."""
        return self._list(self.folder, SENDING)

    def sent(self) -> list[Path]:
        """Messages the server accepted, oldest first."""
        return self._list(self.sent_dir, PENDING)

    def rejected(self) -> list[Path]:
        """Messages the server refused for good, oldest first."""
        return self._list(self.rejected_dir, PENDING)

    @staticmethod
    def _list(folder: Path, suffix: str) -> list[Path]:
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.name.endswith(suffix) and p.is_file())

    def _existing(self, suffix: str) -> Path | None:
        """A file of any state that already holds the message with this id digest."""
        for path in [*self.pending(), *self.sending(), *self.sent(), *self.rejected()]:
            if path.name.split(".", 1)[0].endswith(f"-{suffix}"):
                return path
        return None

    def put(self, msg: EmailMessage, now: dt.datetime) -> Path:
        """Queue `msg` as `<stamp of now>-<Message-ID digest>.eml`; return its path.

        The write is atomic. Putting a message whose Message-ID is already in the outbox (in
        any state) returns the existing file instead of queueing a second copy.
        """
        message_id = msg.get("Message-ID")
        if not message_id:
            raise OutboxError(
                "the message has no Message-ID header; build it with compose_message()"
            )
        suffix = _id_suffix(str(message_id))
        existing = self._existing(suffix)
        if existing is not None:
            log.info("report %s is already in the outbox as %s", message_id, existing)
            return existing
        path = self.folder / f"{_stamp(now)}-{suffix}{PENDING}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _write_atomically(path, msg.as_bytes(policy=email.policy.default))
        except OSError as exc:
            raise OutboxError(
                f"could not write report {message_id} to the outbox {self.folder}: "
                f"{exc.strerror or exc}; free disk space or fix the folder's permissions "
                "(it lives under NBAPROPS_HOME), then run the report again"
            ) from exc
        log.info("queued report %s as %s", message_id, path)
        return path

    def flush(
        self,
        send: SendFn,
        *,
        attempts: int = 3,
        backoff_seconds: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> FlushResult:
        """Send pending messages oldest first; stop at the first that still fails after retries.

        Each message gets `attempts` tries with exponential backoff (backoff, 2x, 4x ...).
        A message the server refuses for good (MessageRejectedError) moves to rejected/ and
        the flush goes on; any other failure leaves it pending and ends the flush, so order
        is kept. Raises OutboxBusyError when another process is flushing.
        """
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        if not self.folder.is_dir():
            return FlushResult()
        lock = FileLock(self.folder / LOCK_NAME, timeout=self.lock_timeout)
        try:
            lock.acquire()
        except Timeout:
            raise OutboxBusyError(
                f"another process is flushing {self.folder}; it will send what is pending, "
                "or run the flush again once it has finished"
            ) from None
        try:
            return self._flush_locked(send, attempts, backoff_seconds, sleep)
        finally:
            lock.release()

    def _recover_crashed(self) -> list[Path]:
        """Put files a dead flush left in `.sending` back in the pending set (at-least-once)."""
        recovered = []
        for path in self.sending():
            pending = path.with_name(path.name.removesuffix(SENDING) + PENDING)
            log.warning(
                "%s was being sent when a flush stopped; sending it again (the server may "
                "already have it: a duplicate with the same Message-ID is possible)",
                pending.name,
            )
            _move(path, pending)
            recovered.append(pending)
        return recovered

    def _flush_locked(
        self, send: SendFn, attempts: int, backoff: float, sleep: Callable[[float], None]
    ) -> FlushResult:
        try:
            recovered = self._recover_crashed()
        except OSError as exc:
            raise OutboxError(
                f"could not reset an interrupted send in {self.folder}: {exc}; "
                "fix the folder's permissions and flush again"
            ) from exc
        sent: list[Path] = []
        rejected: list[Path] = []
        # Re-list each round so that reports queued during a long flush are sent by it too.
        while pending := self.pending():
            path = pending[0]
            msg = read_message(path)
            in_flight = path.with_name(path.name.removesuffix(PENDING) + SENDING)
            try:
                _move(path, in_flight)
            except OSError as exc:
                raise OutboxError(
                    f"could not mark {path} as sending: {exc}; fix the folder's permissions"
                ) from exc
            outcome, error = self._send_with_retries(msg, send, attempts, backoff, sleep)
            target = {
                "sent": self.sent_dir / path.name,
                "rejected": self.rejected_dir / path.name,
                "failed": path,
            }[outcome]
            try:
                _move(in_flight, target)
            except OSError as exc:
                raise OutboxError(
                    f"{path.name} ended as {outcome} but could not be moved to {target}: {exc}; "
                    "it stays marked .sending and the next flush sends it again"
                ) from exc
            if outcome == "sent":
                sent.append(target)
            elif outcome == "rejected":
                log.error("report %s was rejected for good: %s", path.name, error)
                rejected.append(target)
            else:
                log.warning("report %s stays in the outbox: %s", path.name, error)
                return FlushResult(
                    tuple(sent),
                    tuple(rejected),
                    path,
                    error,
                    tuple(self.pending()),
                    tuple(recovered),
                )
        return FlushResult(tuple(sent), tuple(rejected), resent_after_crash=tuple(recovered))

    @staticmethod
    def _send_with_retries(
        msg: EmailMessage,
        send: SendFn,
        attempts: int,
        backoff: float,
        sleep: Callable[[float], None],
    ) -> tuple[str, str | None]:
        """('sent', None), ('rejected', why) or ('failed', why) after up to `attempts` tries."""
        error: str | None = None
        for attempt in range(1, attempts + 1):
            try:
                send(msg)
            except MessageRejectedError as exc:
                return "rejected", str(exc)
            except Exception as exc:
                error = str(exc) or type(exc).__name__
                log.info("attempt %d of %d failed: %s", attempt, attempts, error)
                if attempt < attempts:
                    sleep(backoff * 2 ** (attempt - 1))
            else:
                return "sent", None
        return "failed", error


@dataclass(frozen=True)
class DeliveryResult:
    """Where the report was queued, its Message-ID, and what the flush that followed did."""

    queued: Path
    message_id: str
    flush: FlushResult

    @property
    def delivered(self) -> bool:
        """True when the server accepted this report in this flush."""
        return any(p.name == self.queued.name for p in self.flush.sent)


def deliver(
    rendered: RenderedReport,
    cfg: SmtpConfig,
    outbox: Outbox,
    now: dt.datetime,
    *,
    send: SendFn | None = None,
    attempts: int = 3,
    backoff_seconds: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """Compose the report, write it to the outbox, then flush the outbox (oldest first).

    The write comes first, so an SMTP outage leaves the report waiting for the next flush.
    `send` defaults to SMTP delivery through `cfg`.
    """
    msg = compose_message(rendered, cfg.sender, cfg.recipients, at=now)
    queued = outbox.put(msg, now)
    sender = send if send is not None else partial(send_message, cfg=cfg)
    try:
        result = outbox.flush(
            sender, attempts=attempts, backoff_seconds=backoff_seconds, sleep=sleep
        )
    except OutboxBusyError as exc:
        result = FlushResult(error=str(exc), remaining=tuple(outbox.pending()))
    return DeliveryResult(queued, str(msg["Message-ID"]), result)
