"""Compose the weekly report as a MIME email and hand it to an SMTP server.

The message is multipart/alternative: plain text first, then multipart/related holding the
HTML and its inline chart images, so every `cid:` in the HTML resolves to a part of the same
message. The SMTP password lives in a SecretStr and never reaches a log line, an exception
message or a repr.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal

from pydantic import SecretStr

from jobs.report.render import RenderedReport
from nbaprops.settings import Settings

log = logging.getLogger(__name__)

Security = Literal["plain", "starttls", "ssl"]
WEEK_HEADER = "X-Nbaprops-Report-Week"
PERMANENT_CODES = frozenset({550, 551, 552, 553, 554})


class MailerError(Exception):
    """Base class of the report mailer's errors."""


class MailerConfigError(MailerError):
    """The email settings cannot produce a deliverable message."""


class MailDeliveryError(MailerError):
    """The SMTP server could not be reached or did not accept the message; retrying may help."""


class MessageRejectedError(MailDeliveryError):
    """The server refused this message for good (5xx on sender, recipients or data)."""


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send reports; `password` is a SecretStr and is left out of the repr."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: SecretStr | None = field(default=None, repr=False)
    security: Security = "plain"
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings, timeout: float = 30.0) -> SmtpConfig:
        """Build the config from NBAPROPS_SMTP_* and NBAPROPS_REPORT_* settings."""
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.report_sender,
            recipients=parse_recipients(settings.report_recipients),
            user=settings.smtp_user or None,
            password=settings.smtp_password,
            security=settings.smtp_security,
            timeout=timeout,
        )

    @property
    def server(self) -> str:
        """'host:port (security)' for messages; never includes credentials."""
        return f"{self.host}:{self.port} ({self.security})"


def parse_recipients(value: str) -> tuple[str, ...]:
    """Split a comma-separated recipient list, dropping blanks and surrounding spaces."""
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _domain_of(address: str) -> str:
    """The domain part of an address, used for Message-IDs (avoids a slow getfqdn())."""
    _, _, domain = address.rpartition("@")
    return domain.strip(" >") or "nbaprops.local"


def compose_message(
    rendered: RenderedReport, sender: str, recipients: Sequence[str], *, at: dt.datetime
) -> EmailMessage:
    """The report as an EmailMessage dated `at`, with a fresh Message-ID and inline charts.

    The Message-ID is short (week + 64 random bits) so its header is never folded.
    """
    if not recipients:
        raise MailerConfigError(
            "the report has no recipients; set NBAPROPS_REPORT_RECIPIENTS to a comma-separated "
            "list of addresses, e.g. ops@example.com,lead@example.com"
        )
    if at.tzinfo is None:
        raise MailerConfigError("the report's send time must carry a time zone, e.g. UTC")
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = f"<{rendered.week}.{secrets.token_hex(8)}@{_domain_of(sender)}>"
    msg[WEEK_HEADER] = rendered.week
    msg.set_content(rendered.text, cte="quoted-printable")
    msg.add_alternative(rendered.html_cid, subtype="html", cte="quoted-printable")
    html_part = next(p for p in msg.iter_parts() if p.get_content_type() == "text/html")
    for cid, png in rendered.images.items():
        html_part.add_related(
            png,
            maintype="image",
            subtype="png",
            cid=f"<{cid}>",
            disposition="inline",
            filename=f"{cid.split('@', 1)[0]}.png",
        )
    return msg


def _redact(text: str, password: SecretStr | None) -> str:
    """Remove the password from server-provided text, in case a server ever echoes it."""
    secret = password.get_secret_value() if password else ""
    return text.replace(secret, "**********") if secret else text


def _connect(cfg: SmtpConfig) -> smtplib.SMTP:
    """An open SMTP session: implicit TLS for 'ssl', upgraded with STARTTLS for 'starttls'."""
    context = ssl.create_default_context()
    if cfg.security == "ssl":
        return smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
    smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
    if cfg.security == "starttls":
        try:
            smtp.starttls(context=context)
        except BaseException:
            smtp.close()
            raise
    return smtp


def _quit_quietly(smtp: smtplib.SMTP) -> None:
    """Say goodbye; once the server has accepted the message, a failed QUIT changes nothing."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        smtp.close()


def send_message(msg: EmailMessage, cfg: SmtpConfig) -> None:
    """Send `msg` to the addresses in its own To/Cc headers through the server in `cfg`.

    Logs in only when a user is set. Raises MessageRejectedError when the server refuses the
    message itself for good, MailDeliveryError for anything retrying might fix.
    """
    message_id = msg.get("Message-ID", "<no Message-ID>")
    try:
        smtp = _connect(cfg)
        try:
            if cfg.user:
                password = cfg.password.get_secret_value() if cfg.password else ""
                smtp.login(cfg.user, password)
            refused = smtp.send_message(msg)
        finally:
            _quit_quietly(smtp)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        detail = _redact(_describe(exc), cfg.password)
        if _is_permanent(exc):
            raise MessageRejectedError(
                f"{cfg.server} refused report {message_id} for good: {detail}; check "
                "NBAPROPS_REPORT_SENDER and NBAPROPS_REPORT_RECIPIENTS"
            ) from None
        raise MailDeliveryError(
            f"{cfg.server} did not accept report {message_id}: {detail}; check "
            "NBAPROPS_REPORT_SENDER if the sender was refused (the report stays in the outbox "
            "and the next flush retries it)"
        ) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise MailDeliveryError(
            f"{cfg.server} refused the login of user {cfg.user!r}: "
            f"{_redact(_describe(exc), cfg.password)}; check NBAPROPS_SMTP_USER and "
            "NBAPROPS_SMTP_PASSWORD (the report stays in the outbox)"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailDeliveryError(
            f"could not send report {message_id} through {cfg.server}: "
            f"{_redact(_describe(exc), cfg.password)}; check NBAPROPS_SMTP_HOST, "
            "NBAPROPS_SMTP_PORT and NBAPROPS_SMTP_SECURITY (the report stays in the outbox)"
        ) from None
    if refused:
        log.warning("report %s was refused for %s", message_id, ", ".join(sorted(refused)))
    log.info("sent report %s through %s", message_id, cfg.server)


def _describe(exc: BaseException) -> str:
    """'SMTPDataError: 552 message too big' style text for an exception."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = [f"{rcpt}: {code} {_text(reply)}" for rcpt, (code, reply) in exc.recipients.items()]
        return "all recipients refused (" + "; ".join(parts) + ")"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__}: {exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _is_permanent(exc: smtplib.SMTPException) -> bool:
    """True when the server refused this very message for good, so retrying cannot help.

    That is 550-554 on every recipient (the recipients are baked into the message) or on its
    data (too big, refused as spam). A refused sender or a 530 'authentication required' is a
    configuration problem instead: fixing the settings lets the same message through.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code in PERMANENT_CODES for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code in PERMANENT_CODES
