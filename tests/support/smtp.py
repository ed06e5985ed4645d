"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the mail tests: no mock of smtplib anywhere.

One class serves every suite. It keeps what it accepts, refuses mail to `nobody@` addresses,
can be stopped and started again on the same port (a server that goes down), can stall on
DATA until released (a server that hangs), and can take or require a login. A wrong password
is refused quietly, or echoed back in the 535 reply as a careless server does (to check that
the client never repeats a reply carrying it).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from dataclasses import dataclass, field, replace
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from jobs.report.mailer import SmtpConfig
from tests.support.ports import free_port

#: The address the test reports are sent from.
SENDER = "nbaprops@example.com"


def local_smtp_config(port: int, recipients: tuple[str, ...], **overrides: Any) -> SmtpConfig:
    """Mail from SENDER to `recipients` through 127.0.0.1:`port`, giving up after 5 s."""
    config = SmtpConfig("127.0.0.1", port, SENDER, recipients, timeout=5.0)
    return replace(config, **overrides)


@dataclass
class CollectingHandler:
    """Keeps every accepted envelope; refuses `nobody@` recipients; can stall on DATA."""

    envelopes: list[Envelope] = field(default_factory=list)
    quit_reply: str = "221 Bye"
    stall: threading.Event = field(default_factory=threading.Event)
    stalled: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.stall.is_set():
            self.stalled.set()
            while not self.released.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 stalled; try again later"
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server: Any, session: Session, envelope: Envelope) -> str:
        return self.quit_reply


@dataclass(frozen=True)
class Login:
    """The one account a server accepts, and how it treats a client that has none."""

    user: str
    password: str
    required: bool = False
    echo_wrong_password: bool = False


class SmtpServer:
    """aiosmtpd on 127.0.0.1 at a fixed port (a free one unless given), not started yet."""

    def __init__(self, port: int | None = None, login: Login | None = None) -> None:
        self.port = port or free_port()
        self.login = login
        self.handler = CollectingHandler()
        self.logins: list[bool] = []
        self._controller: Controller | None = None

    def credentials(self) -> tuple[str, str]:
        """The user and password of the one account this server accepts."""
        assert self.login is not None, "this server takes no login: start it with login=Login(...)"
        return self.login.user, self.login.password

    def start(self) -> SmtpServer:
        if self.login is None:
            self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        else:
            self._controller = Controller(
                self.handler,
                hostname="127.0.0.1",
                port=self.port,
                authenticator=self._authenticate,
                auth_required=self.login.required,
                auth_require_tls=False,
            )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self.handler.released.set()
            self._controller.stop()
            self._controller = None

    def _authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self.login is not None
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.login.user
            and auth_data.password.decode() == self.login.password
        )
        self.logins.append(ok)
        if ok:
            return AuthResult(success=True, auth_data=auth_data)
        if self.login.echo_wrong_password and isinstance(auth_data, LoginPassword):
            echo = f"535 5.7.8 bad password {auth_data.password.decode()}"
            return AuthResult(success=False, handled=False, message=echo)
        return AuthResult(success=False)

    @property
    def received(self) -> list[Envelope]:
        return self.handler.envelopes

    def answer_quit_with(self, reply: str) -> None:
        """Make the server answer QUIT with `reply` (a misbehaving server)."""
        self.handler.quit_reply = reply

    def stall_on_data(self) -> None:
        """Answer DATA only once released (and then with a 451: nothing accepted)."""
        self.handler.released.clear()
        self.handler.stall.set()

    def release(self) -> None:
        """Stop stalling: the stalled session gets its 451, new ones are accepted."""
        self.handler.stall.clear()
        self.handler.released.set()

    @property
    def stalled(self) -> threading.Event:
        return self.handler.stalled

    def headers(self, name: str) -> list[str]:
        """Header `name` of each accepted message, in order of arrival."""
        values = []
        for envelope in self.handler.envelopes:
            assert isinstance(envelope.content, bytes)
            parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
            values.append(str(parsed[name]).strip())
        return values

    def message_ids(self) -> list[str]:
        """Message-IDs of the accepted messages, in order of arrival."""
        return self.headers("Message-ID")

    def weeks(self) -> list[str]:
        """The report week each accepted message carries."""
        return self.headers("X-Nbaprops-Report-Week")
