"""The report email: MIME structure, and delivery to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
import re
from email.message import EmailMessage

import pytest
from pydantic import SecretStr

from jobs.report.mailer import (
    MailDeliveryError,
    MailerConfigError,
    MessageRejectedError,
    SmtpConfig,
    compose_message,
    send_message,
)
from jobs.report.render import RenderedReport
from nbaprops.settings import Settings
from tests.support.smtp import SENDER, SmtpServer, local_smtp_config

SENT_AT = dt.datetime(2025, 1, 20, 7, 0, tzinfo=dt.UTC)
RECIPIENTS = ("ops@example.com", "lead@example.com")


def _config(port: int, **overrides: object) -> SmtpConfig:
    return local_smtp_config(port, RECIPIENTS, **overrides)


def _parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def assert_report_structure(msg: EmailMessage, rendered: RenderedReport) -> None:
    """multipart/alternative(text, related(html, images)) with every cid: resolved."""
    assert msg.get_content_type() == "multipart/alternative"
    text_part, related = list(msg.iter_parts())
    assert text_part.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, *images = list(related.iter_parts())
    assert html_part.get_content_type() == "text/html"
    html = html_part.get_content()
    cids = set(re.findall(r'src="cid:([^"]+)"', html))
    assert len(cids) == 3
    by_cid = {str(part["Content-ID"]).strip("<>"): part for part in images}
    assert set(by_cid) == cids
    for cid, part in by_cid.items():
        assert part.get_content_type() == "image/png"
        assert part.get_content_disposition() == "inline"
        assert part.get_content() == rendered.images[cid]
    assert text_part.get_content().replace("\r\n", "\n") == rendered.text
    assert html.replace("\r\n", "\n") == rendered.html_cid


def test_compose_builds_alternative_with_related_images(rendered: RenderedReport) -> None:
    msg = compose_message(rendered, SENDER, RECIPIENTS, at=SENT_AT)
    assert_report_structure(msg, rendered)
    assert msg["Subject"] == "nbaprops weekly report 2025-W03"
    assert msg["Date"] == "Mon, 20 Jan 2025 07:00:00 +0000"
    assert re.fullmatch(r"<[^<>@]+@example\.com>", str(msg["Message-ID"]))
    assert msg["To"] == "ops@example.com, lead@example.com"
    # Round trip through bytes, as the outbox stores it.
    assert_report_structure(_parse(msg.as_bytes()), rendered)


def test_each_message_gets_its_own_message_id(rendered: RenderedReport) -> None:
    first = compose_message(rendered, SENDER, RECIPIENTS, at=SENT_AT)
    second = compose_message(rendered, SENDER, RECIPIENTS, at=SENT_AT)
    assert first["Message-ID"] != second["Message-ID"]


def test_compose_without_recipients_says_which_setting_to_fill(rendered: RenderedReport) -> None:
    with pytest.raises(MailerConfigError, match="NBAPROPS_REPORT_RECIPIENTS"):
        compose_message(rendered, SENDER, (), at=SENT_AT)
    with pytest.raises(MailerConfigError, match="time zone"):
        compose_message(rendered, SENDER, RECIPIENTS, at=SENT_AT.replace(tzinfo=None))


def test_config_from_settings_hides_the_password() -> None:
    secret = "pw-settings-DISTINCTIVE-42"
    settings = Settings(
        smtp_host="mail.example.com",
        smtp_port=465,
        smtp_user="bot",
        smtp_password=secret,  # type: ignore[arg-type]
        smtp_security="ssl",
        report_sender=SENDER,
        report_recipients=" ops@example.com, ,lead@example.com,",
    )
    cfg = SmtpConfig.from_settings(settings)
    assert cfg.recipients == RECIPIENTS
    assert (cfg.host, cfg.port, cfg.security, cfg.user) == ("mail.example.com", 465, "ssl", "bot")
    assert cfg.password is not None and cfg.password.get_secret_value() == secret
    for shown in (repr(cfg), str(cfg), cfg.server, f"{cfg}"):
        assert secret not in shown


def test_real_server_receives_the_report(smtp_server: SmtpServer, rendered: RenderedReport) -> None:
    msg = compose_message(rendered, SENDER, RECIPIENTS, at=SENT_AT)
    send_message(msg, _config(smtp_server.port))
    assert len(smtp_server.received) == 1
    envelope = smtp_server.received[0]
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == list(RECIPIENTS)
    assert isinstance(envelope.content, bytes)
    received = _parse(envelope.content)
    assert received["Subject"] == "nbaprops weekly report 2025-W03"
    assert received["Message-ID"] == msg["Message-ID"]
    assert_report_structure(received, rendered)
    text_part, related = list(received.iter_parts())
    html = next(related.iter_parts()).get_content()
    for figure in ("4.688", "+3.1%", "412", "0.318", "xgb-tune-0017"):
        assert figure in text_part.get_content()
        assert figure in html


def test_login_uses_the_password_and_never_shows_it(
    smtp_server: SmtpServer, rendered: RenderedReport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    msg = compose_message(rendered, SENDER, RECIPIENTS, at=SENT_AT)
    user, password = smtp_server.credentials()
    good = _config(smtp_server.port, user=user, password=SecretStr(password))
    send_message(msg, good)
    assert len(smtp_server.received) == 1

    wrong_secret = password + "-wrong"
    wrong = _config(smtp_server.port, user=user, password=SecretStr(wrong_secret))
    with pytest.raises(MailDeliveryError, match="NBAPROPS_SMTP_PASSWORD") as caught:
        send_message(msg, wrong)
    assert len(smtp_server.received) == 1
    # The server echoed the wrong password in its 535 reply; the error shows it redacted.
    assert "535 5.7.8 bad password **********" in str(caught.value)
    assert caught.value.__suppress_context__
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("jobs"))
    assert "sent report" in ours
    for shown in (str(caught.value), repr(caught.value), ours, msg.as_string()):
        assert password not in shown


def test_a_failed_quit_after_acceptance_still_counts_as_sent(
    smtp_server: SmtpServer, rendered: RenderedReport
) -> None:
    smtp_server.answer_quit_with("451 4.3.0 cleanup failed")
    msg = compose_message(rendered, SENDER, RECIPIENTS, at=SENT_AT)
    send_message(msg, _config(smtp_server.port))  # no error: the message was accepted
    assert len(smtp_server.received) == 1


def test_refused_recipients_are_a_permanent_rejection(
    smtp_server: SmtpServer, rendered: RenderedReport
) -> None:
    msg = compose_message(rendered, SENDER, ("nobody@example.com",), at=SENT_AT)
    with pytest.raises(MessageRejectedError, match="550"):
        send_message(msg, _config(smtp_server.port))
    assert smtp_server.received == []


def test_unreachable_server_is_a_retryable_error(
    rendered: RenderedReport, closed_port: int
) -> None:
    msg = compose_message(rendered, SENDER, RECIPIENTS, at=SENT_AT)
    secret = "pw-unreachable-DISTINCTIVE-7"
    cfg = _config(closed_port, user="bot", password=SecretStr(secret))
    with pytest.raises(MailDeliveryError, match="NBAPROPS_SMTP_HOST") as caught:
        send_message(msg, cfg)
    assert not isinstance(caught.value, MessageRejectedError)
    assert secret not in str(caught.value)
