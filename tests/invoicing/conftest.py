"""A real SMTP server (aiosmtpd) for the delivery tests, and the billing service the
billing, dunning, receipt and API tests share (NZD with 15% GST, the clock at the S7
run: 1 July 2026 02:00 UTC)."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from provisioning.db import make_engine
from provisioning.models import OPERATOR
from provisioning.service import Service


def billing_now() -> datetime:
    return datetime(2026, 7, 1, 2, tzinfo=UTC)


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The text of a PDF, as poppler's pdftotext lays it out."""
    assert pdf.startswith(b"%PDF-")
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout  # fmt: skip


@pytest.fixture
async def service(database_url: str) -> AsyncIterator[Service]:
    svc = Service(make_engine(database_url), clock=billing_now, scrypt_n=2)
    await svc.start()
    await svc.update_realm(OPERATOR, "default", currency="NZD", tax_name="GST", tax_rate="0.15")
    yield svc
    await svc.close()


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
