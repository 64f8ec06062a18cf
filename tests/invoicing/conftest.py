"""A real SMTP server (aiosmtpd) for the delivery tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    # aiosmtpd's Controller cannot bind port 0 (it connects to its own port to check it
    # is up), so pick a free one first.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Inbox:
    """What the SMTP server accepted. RCPT to bounce@… gets 550, to defer@… gets 450."""

    raw: list[bytes] = field(default_factory=list)

    @property
    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(r, policy=policy.default) for r in self.raw]  # type: ignore[misc]

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("bounce@"):
            return "550 5.1.1 No such user"
        if address.startswith("defer@"):
            return "450 4.2.1 Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(envelope.original_content)
        return "250 2.0.0 Queued"


@dataclass
class SmtpServer:
    host: str
    port: int
    inbox: Inbox


def start_smtp(port: int) -> tuple[Controller, SmtpServer]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, SmtpServer("127.0.0.1", port, inbox)


@pytest.fixture(scope="session")
def _smtp_session() -> Iterator[SmtpServer]:
    controller, server = start_smtp(free_port())
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def smtp_server(_smtp_session: SmtpServer) -> SmtpServer:
    """The session's aiosmtpd server with an empty inbox."""
    _smtp_session.inbox.raw.clear()
    return _smtp_session
