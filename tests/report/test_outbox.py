"""The outbox: atomic writes, oldest-first flushing with retries, and no report ever lost."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
import os
from dataclasses import replace
from email.message import EmailMessage
from functools import partial
from pathlib import Path

import pytest
from filelock import FileLock
from pydantic import SecretStr

from jobs.report.mailer import (
    MailDeliveryError,
    SmtpConfig,
    compose_message,
    send_message,
)
from jobs.report.outbox import LOCK_NAME, Outbox, OutboxBusyError, OutboxError, deliver
from jobs.report.render import RenderedReport
from tests.support.disk import FullDiskFile, disk_full_error
from tests.support.smtp import SENDER, SmtpServer, local_smtp_config

T0 = dt.datetime(2025, 1, 20, 7, 0, tzinfo=dt.UTC)
RECIPIENTS = ("ops@example.com",)


class Sleeps:
    """A stand-in for time.sleep that records the backoff instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _config(server: SmtpServer, **overrides: object) -> SmtpConfig:
    return local_smtp_config(server.port, RECIPIENTS, **overrides)


def _message(rendered: RenderedReport, week: str, to: tuple[str, ...] = RECIPIENTS) -> EmailMessage:
    return compose_message(
        replace(rendered, week=week, subject=f"report {week}"), SENDER, to, at=T0
    )


def test_put_writes_a_complete_sortable_eml(tmp_path: Path, small_rendered: RenderedReport) -> None:
    outbox = Outbox(tmp_path / "outbox")
    msg = _message(small_rendered, "2025-W03")
    path = outbox.put(msg, T0)
    assert path.parent == outbox.folder
    assert path.name.startswith("20250120T070000000000Z-") and path.name.endswith(".eml")
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["Message-ID"] == msg["Message-ID"]
    assert parsed.get_content_type() == "multipart/alternative"
    assert outbox.pending() == [path]
    assert [p.name for p in outbox.folder.iterdir()] == [path.name]  # no temp file left
    # Putting the same message again (e.g. a retried job) does not queue a second copy.
    assert outbox.put(msg, T0 + dt.timedelta(minutes=5)) == path
    assert outbox.pending() == [path]


@pytest.mark.parametrize("failing", ["replace", "fsync", "write"])
def test_a_failing_write_leaves_no_partial_file(
    tmp_path: Path, small_rendered: RenderedReport, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    outbox = Outbox(tmp_path / "outbox")
    outbox.put(_message(small_rendered, "2025-W02"), T0 - dt.timedelta(days=7))
    before = sorted(p.name for p in outbox.folder.iterdir())

    def disk_full(*args: object, **kwargs: object) -> None:
        raise disk_full_error()

    if failing == "write":
        monkeypatch.setattr(os, "fdopen", FullDiskFile)
    else:
        monkeypatch.setattr(os, failing, disk_full)
    with pytest.raises(OutboxError, match="free disk space") as caught:
        outbox.put(_message(small_rendered, "2025-W03"), T0)
    assert "No space left on device" in str(caught.value)
    monkeypatch.undo()
    assert sorted(p.name for p in outbox.folder.iterdir()) == before
    assert len(outbox.pending()) == 1


def test_outage_then_recovery_delivers_exactly_once(
    tmp_path: Path, smtp_server: SmtpServer, small_rendered: RenderedReport
) -> None:
    outbox = Outbox(tmp_path / "outbox")
    cfg = _config(smtp_server)
    smtp_server.stop()
    sleeps = Sleeps()
    result = deliver(small_rendered, cfg, outbox, T0, attempts=3, backoff_seconds=0.5, sleep=sleeps)
    assert not result.delivered
    assert result.flush.failed == result.queued
    assert "NBAPROPS_SMTP_HOST" in (result.flush.error or "")
    assert outbox.pending() == [result.queued] == list(result.flush.remaining)
    assert sleeps.calls == [0.5, 1.0]  # exponential backoff between the three attempts
    assert outbox.sending() == [] and outbox.sent() == []

    smtp_server.start()
    flushed = outbox.flush(partial(send_message, cfg=cfg), sleep=Sleeps())
    assert flushed.ok
    assert outbox.pending() == []
    assert outbox.sent() == [outbox.sent_dir / result.queued.name] == list(flushed.sent)
    assert smtp_server.message_ids() == [result.message_id]
    # A second flush has nothing left to send.
    assert outbox.flush(partial(send_message, cfg=cfg)).sent == ()
    assert len(smtp_server.received) == 1


def test_waiting_reports_flush_oldest_first(
    tmp_path: Path, smtp_server: SmtpServer, small_rendered: RenderedReport
) -> None:
    outbox = Outbox(tmp_path / "outbox")
    weeks = {"2025-W03": 14, "2025-W01": 0, "2025-W02": 7}  # queued out of order
    ids = {}
    for week, days in weeks.items():
        msg = _message(small_rendered, week)
        outbox.put(msg, T0 + dt.timedelta(days=days))
        ids[week] = str(msg["Message-ID"])
    result = outbox.flush(partial(send_message, cfg=_config(smtp_server)))
    assert result.ok and len(result.sent) == 3
    assert smtp_server.message_ids() == [ids["2025-W01"], ids["2025-W02"], ids["2025-W03"]]


def test_flush_stops_at_the_first_failure_and_keeps_order(
    tmp_path: Path, small_rendered: RenderedReport
) -> None:
    outbox = Outbox(tmp_path / "outbox")
    paths = [
        outbox.put(_message(small_rendered, f"2025-W0{i}"), T0 + dt.timedelta(days=i))
        for i in (1, 2, 3)
    ]
    tried: list[str] = []

    def flaky(msg: EmailMessage) -> None:
        tried.append(str(msg["X-Nbaprops-Report-Week"]))
        if msg["X-Nbaprops-Report-Week"] == "2025-W02":
            raise MailDeliveryError("server busy, 451 try later")

    sleeps = Sleeps()
    result = outbox.flush(flaky, attempts=2, backoff_seconds=3.0, sleep=sleeps)
    assert tried == ["2025-W01", "2025-W02", "2025-W02"]
    assert sleeps.calls == [3.0]
    assert result.sent == (outbox.sent_dir / paths[0].name,)
    assert result.failed == paths[1]
    assert result.error == "server busy, 451 try later"
    assert outbox.pending() == paths[1:] == list(result.remaining)


def test_a_refused_report_moves_to_rejected_and_the_rest_still_go(
    tmp_path: Path, smtp_server: SmtpServer, small_rendered: RenderedReport
) -> None:
    outbox = Outbox(tmp_path / "outbox")
    bad = outbox.put(_message(small_rendered, "2025-W01", ("nobody@example.com",)), T0)
    good_msg = _message(small_rendered, "2025-W02")
    good = outbox.put(good_msg, T0 + dt.timedelta(days=7))
    sleeps = Sleeps()
    result = outbox.flush(partial(send_message, cfg=_config(smtp_server)), sleep=sleeps)
    assert sleeps.calls == []  # a permanent refusal is not retried
    assert result.rejected == (outbox.rejected_dir / bad.name,)
    assert outbox.rejected() == list(result.rejected)
    assert result.sent == (outbox.sent_dir / good.name,)
    assert smtp_server.message_ids() == [str(good_msg["Message-ID"])]
    assert result.ok


def test_a_crash_after_acceptance_is_resent_at_least_once(
    tmp_path: Path,
    smtp_server: SmtpServer,
    small_rendered: RenderedReport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox = Outbox(tmp_path / "outbox")
    cfg = _config(smtp_server)
    path = outbox.put(_message(small_rendered, "2025-W03"), T0)

    def accepted_then_killed(msg: EmailMessage) -> None:
        send_message(msg, cfg)
        raise KeyboardInterrupt  # the process dies before the file is moved to sent/

    with pytest.raises(KeyboardInterrupt):
        outbox.flush(accepted_then_killed)
    assert len(smtp_server.received) == 1
    assert outbox.pending() == [] and outbox.sent() == []
    assert [p.name for p in outbox.sending()] == [path.name + ".sending"]

    with caplog.at_level(logging.WARNING, logger="jobs.report.outbox"):
        result = outbox.flush(partial(send_message, cfg=cfg))
    assert result.resent_after_crash == (path,)
    assert "duplicate with the same Message-ID is possible" in caplog.text
    assert result.sent == (outbox.sent_dir / path.name,)
    ids = smtp_server.message_ids()
    assert len(ids) == 2 and ids[0] == ids[1]  # a duplicate, never a loss
    assert outbox.sending() == []


def test_a_second_flush_at_the_same_time_is_refused(
    tmp_path: Path, small_rendered: RenderedReport
) -> None:
    outbox = Outbox(tmp_path / "outbox", lock_timeout=0)
    path = outbox.put(_message(small_rendered, "2025-W03"), T0)
    sent: list[EmailMessage] = []
    with (
        FileLock(outbox.folder / LOCK_NAME),
        pytest.raises(OutboxBusyError, match="another process is flushing"),
    ):
        outbox.flush(sent.append)
    assert sent == [] and outbox.pending() == [path]
    assert outbox.flush(sent.append).ok and len(sent) == 1


def test_flushing_a_missing_folder_creates_nothing(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "never-used")
    result = outbox.flush(lambda msg: None)
    assert result.ok and result.sent == ()
    assert not outbox.folder.exists()


def test_the_password_is_nowhere_in_logs_errors_or_files(
    tmp_path: Path,
    smtp_server: SmtpServer,
    small_rendered: RenderedReport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    outbox = Outbox(tmp_path / "outbox")
    user, password = smtp_server.credentials()
    cfg = _config(smtp_server, user=user, password=SecretStr(password))
    smtp_server.stop()
    down = deliver(small_rendered, cfg, outbox, T0, attempts=2, sleep=Sleeps())
    smtp_server.start()
    wrong = replace(cfg, password=SecretStr(password + "-old"))
    refused = outbox.flush(partial(send_message, cfg=wrong), attempts=1)
    assert "**********" in (refused.error or "")  # the server's echo, redacted
    ok = deliver(small_rendered, cfg, outbox, T0 + dt.timedelta(hours=1), sleep=Sleeps())
    assert ok.delivered and len(smtp_server.received) == 2
    assert not down.delivered and refused.failed is not None

    ours = [r for r in caplog.records if r.name.startswith("jobs")]
    assert any("queued report" in r.getMessage() for r in ours)
    shown = [
        *(r.getMessage() for r in ours),
        repr(cfg),
        repr(down),
        repr(refused),
        down.flush.error or "",
        refused.error or "",
    ]
    for text in shown:
        assert password not in text
    files = [p for p in outbox.folder.rglob("*") if p.is_file()]
    assert len(files) >= 2
    for file in files:
        assert password.encode() not in file.read_bytes()
