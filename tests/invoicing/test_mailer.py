"""Templates, the MIME message, and sending to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import aiosmtplib.protocol
import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicing import mailer
from invoicing.delivery import Delivered, Deliverer, FailedPermanently, PrintOutbox, RealmDelivery, RetryAt
from invoicing.errors import PermanentDeliveryError, TemplateError, TransientDeliveryError
from invoicing.mailer import (
    DEFAULT_INVOICE_TEMPLATE,
    Mailer,
    MailTemplate,
    Outbound,
    build_message,
    invoice_fields,
)
from invoicing.pdf import render_invoice, render_receipt
from invoicing.smtp import SmtpConfig, _LeadingDots, _LineEnds
from tests.invoicing import factories as f
from tests.invoicing.conftest import SmtpServer, free_port, start_smtp

NOW = datetime(2026, 6, 30, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def s7_pdf() -> bytes:
    return render_invoice(f.s7_june())


def mailer_for(server: SmtpServer) -> Mailer:
    config = SmtpConfig(host=server.host, port=server.port, sender="billing@otautahi.example", timeout=5)
    return Mailer(config)


def test_template_placeholders_are_checked_when_built() -> None:
    with pytest.raises(TemplateError, match=r"\$totl"):
        MailTemplate("invoice", "Invoice $number", "Pay $totl")
    with pytest.raises(TemplateError, match="syntax"):
        MailTemplate("invoice", "Invoice $", "body")
    with pytest.raises(TemplateError, match="receipt"):
        MailTemplate("receipt", "$due_date", "")  # an invoice field, not a receipt field
    t = MailTemplate("invoice", "Invoice ${number}\r\nBcc: x@evil", "Pay $$${total} now")
    subject, body = t.render(invoice_fields(f.s7_june()))
    assert subject == "Invoice INV-default-2026-000001 Bcc: x@evil"  # one line: no header injection
    assert body == "Pay $NZ$148.35 now"


def test_message_has_the_pdf_attached(s7_pdf: bytes) -> None:
    subject, body = DEFAULT_INVOICE_TEMPLATE.render(invoice_fields(f.s7_june()))
    sender, to = "Ōtautahi Fibre <billing@otautahi.example>", "Mere Tūhoe <mere@example.net>"
    out = build_message(sender=sender, to=to, subject=subject, body=body, pdf=s7_pdf,
                        filename="INV-default-2026-000001.pdf", message_key="INV-default-2026-000001",
                        now=NOW, reply_to="accounts@otautahi.example")
    assert (out.sender, out.recipients) == ("billing@otautahi.example", ("mere@example.net",))
    assert all(len(line) <= 998 for line in out.data.split(b"\r\n"))  # RFC 5322 line length, CRLF ends
    assert b"\n" not in out.data.replace(b"\r\n", b"") and out.data.isascii()
    msg = out.parsed()
    assert msg["Message-ID"] == "<INV-default-2026-000001@otautahi.example>"
    assert (msg["From"], msg["To"], msg["Reply-To"]) == (sender, to, "accounts@otautahi.example")
    assert msg["Subject"] == subject and msg.get_content_type() == "multipart/mixed"
    text = msg.get_body(("plain",))
    assert text is not None and text.get_content().splitlines() == body.splitlines()
    (part,) = list(msg.iter_attachments())
    assert part.get_content_type() == "application/pdf"
    assert part.get_filename() == "INV-default-2026-000001.pdf"
    assert part.get_content() == s7_pdf


async def test_invoice_arrives_at_a_real_smtp_server(
    smtp_server: SmtpServer, s7_pdf: bytes, tmp_path: Path
) -> None:
    deliverer = Deliverer(mailer_for(smtp_server), PrintOutbox(tmp_path / "outbox"))
    result = await deliverer.deliver_invoice(f.s7_june(), s7_pdf, RealmDelivery(), now=NOW)
    assert isinstance(result, Delivered) and result.channel == "email" and result.attempts == 1
    (msg,) = smtp_server.inbox.messages
    assert msg["To"] == "mere@example.net"
    assert msg["Subject"] == "Invoice INV-default-2026-000001 from Ōtautahi Fibre Ltd"
    body = msg.get_body(("plain",))
    assert body is not None and "NZ$148.35 by 2026-07-20" in body.get_content()
    (part,) = list(msg.iter_attachments())
    assert part.get_content_type() == "application/pdf"
    assert part.get_filename() == "INV-default-2026-000001.pdf"
    pdf = tmp_path / "got.pdf"
    pdf.write_bytes(part.get_content())
    proc = await asyncio.create_subprocess_exec("pdftotext", str(pdf), "-", stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    text = out.decode()
    assert "NZ$148.35" in text and "INV-default-2026-000001" in text


async def test_receipt_with_realm_sender_and_template(smtp_server: SmtpServer, tmp_path: Path) -> None:
    template = MailTemplate("receipt", "Payment received: $amount", "Paid $invoices. Balance $balance_after.")
    realm = RealmDelivery(sender="Ōtautahi Fibre <accounts@otautahi.example>",
                          reply_to="help@otautahi.example", receipt_template=template)  # fmt: skip
    deliverer = Deliverer(mailer_for(smtp_server), PrintOutbox(tmp_path))
    result = await deliverer.deliver_receipt(f.receipt(), render_receipt(f.receipt()), realm, now=NOW)
    assert isinstance(result, Delivered)
    (msg,) = smtp_server.inbox.messages
    assert msg["Subject"] == "Payment received: NZ$148.35"
    assert msg["From"].addresses[0].addr_spec == "accounts@otautahi.example"
    assert msg["Reply-To"] == "help@otautahi.example"
    body = msg.get_body(("plain",))
    assert body is not None and body.get_content().strip() == "Paid INV-default-2026-000001. Balance NZ$0.00."
    (part,) = list(msg.iter_attachments())
    assert part.get_filename() == "RCT-default-2026-000001.pdf"


async def test_refused_recipient_is_permanent_busy_mailbox_is_retried(
    smtp_server: SmtpServer, s7_pdf: bytes, tmp_path: Path
) -> None:
    deliverer = Deliverer(mailer_for(smtp_server), PrintOutbox(tmp_path))
    bounce = replace(f.s7_june(), buyer=replace(f.buyer(), email="bounce@example.net"))
    result = await deliverer.deliver_invoice(bounce, s7_pdf, RealmDelivery(), now=NOW)
    assert isinstance(result, FailedPermanently) and "550" in result.reason and result.attempts == 1
    defer = replace(f.s7_june(), buyer=replace(f.buyer(), email="defer@example.net"))
    result2 = await deliverer.deliver_invoice(defer, s7_pdf, RealmDelivery(), now=NOW, attempts=2)
    assert isinstance(result2, RetryAt) and "450" in result2.reason
    assert result2.attempts == 3 and result2.at == NOW + deliverer.retry.delay(3)
    assert smtp_server.inbox.raw == []


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (aiosmtplib.SMTPConnectError("refused"), True),
        (aiosmtplib.SMTPServerDisconnected("bye"), True),
        (aiosmtplib.SMTPTimeoutError("slow"), True),
        (ConnectionRefusedError(111, "refused"), True),
        (aiosmtplib.SMTPAuthenticationError(535, "bad password"), True),
        (aiosmtplib.SMTPSenderRefused(553, "sender not allowed", "billing@x"), True),
        (aiosmtplib.SMTPDataError(552, "message too big"), False),
        (aiosmtplib.SMTPDataError(451, "local error"), True),
    ],
)
async def test_smtp_errors_are_classified(error: Exception, transient: bool) -> None:
    async def send(*args: Any, **kwargs: Any) -> Any:
        raise error

    mailer = Mailer(SmtpConfig(), send=send)
    expected = TransientDeliveryError if transient else PermanentDeliveryError
    with pytest.raises(expected):
        await mailer.send(EmailMessage())


def test_smtp_config_from_settings_like_object() -> None:
    class Smtp:
        host, port, sender, starttls = "mx", 587, "b@x", True
        username, password, timeout = "u", "secret", 10.0

    config = SmtpConfig.from_settings(Smtp())
    assert config.port == 587 and config.starttls and "secret" not in repr(config)


@given(st.lists(st.sampled_from([b"\r\n", b"\n", b"\r", b"a", b".", b"..", b"\r\r\n", b"\n\r"]), max_size=40))
def test_stand_ins_do_what_aiosmtplibs_expressions_did(parts: list[bytes]) -> None:
    data = b"".join(parts)
    assert _LineEnds.sub(b"\r\n", data) == re.sub(_LineEnds.PATTERN, b"\r\n", data)
    assert _LeadingDots.sub(b"..", data) == re.sub(_LeadingDots.PATTERN, b"..", data)
    # in use (aiosmtplib unchanged)
    assert isinstance(aiosmtplib.protocol.LINE_ENDINGS_REGEX, _LineEnds)
    assert isinstance(aiosmtplib.protocol.PERIOD_REGEX, _LeadingDots)


_NAME = st.text(st.sampled_from(list("Ab Z09.,\"'<>@()!#_-\tāü–")), max_size=16)
_ADDR = st.builds("{}@{}".format, st.text(st.sampled_from(list("ab9.+_-")), min_size=1, max_size=12),
                  st.text(st.sampled_from(list("ex.mpl-9")), min_size=1, max_size=16))  # fmt: skip
_MAILBOX = st.one_of(_ADDR, st.builds("{} <{}>".format, _NAME, _ADDR))
_SUBJECT = st.text(st.sampled_from(list("Invoce 0123-=?ā–()<>,.:;\"\tÖ")), max_size=90)
_BODY = st.text(st.sampled_from(list("Kia or\n\r\t.ā–€ ")), max_size=200) | st.builds(
    "{}\n{}".format, st.text(st.sampled_from("ab "), min_size=70, max_size=90), st.text(max_size=40))


@given(_MAILBOX, _MAILBOX, _SUBJECT, st.text(st.sampled_from(list("INV-ā/ 9")), max_size=30),
       st.none() | _MAILBOX)  # fmt: skip
def test_header_fields_as_the_email_package_writes_them(sender: str, to: str, subject: str, key: str,
                                                        reply_to: str | None) -> None:  # fmt: skip
    """Fields written directly when plain are what the package writes; the others are its own."""
    fields = mailer._header_fields(sender, to, subject, NOW, key, reply_to)
    package = EmailMessage(policy=policy.SMTP)
    try:
        mailer.headed(sender=sender, to=to, subject=subject, now=NOW, message_key=key, reply_to=reply_to,
                      on=package)  # fmt: skip
        expected = mailer._header_lines(package)
    except Exception as exc:  # the package refuses it: so must we
        with pytest.raises(type(exc)):
            b"".join(mailer._header_line(name, value) for name, value in fields)
        return
    assert b"".join(mailer._header_line(name, value) for name, value in fields) == expected


@given(_BODY)
def test_text_part_as_set_content_makes_it(body: str) -> None:
    text = EmailMessage()
    text.set_content(body)
    del text["MIME-Version"]
    assert mailer._text_part(body) == text.as_bytes(policy=policy.SMTP)


def test_plain_fields_skip_the_email_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """The common case (ASCII addresses and subject) takes the direct road."""
    monkeypatch.setattr(mailer, "EmailMessage", None)  # any use of the package would now fail
    out = build_message(sender="Acme Billing <billing@acme.example>", to="b1@customers.example.net",
                        subject="Invoice INV-default-2026-000001 from Acme Ltd", body="Kia ora Bob,\n",
                        pdf=b"%PDF", filename="INV-default-2026-000001.pdf", now=NOW,
                        message_key="INV-default-2026-000001", reply_to="accounts@acme.example")  # fmt: skip
    assert out.parsed()["Subject"] == "Invoice INV-default-2026-000001 from Acme Ltd"


def _outbound(to: str, n: int, pdf: bytes) -> Outbound:
    return build_message(sender="billing@otautahi.example", to=to, subject=f"Invoice {n}", body="Kia ora",
                         pdf=pdf, filename=f"INV-{n}.pdf", message_key=f"INV-{n}", now=NOW)


async def test_messages_share_a_kept_session_that_outlives_a_server_restart(s7_pdf: bytes) -> None:
    port = free_port()
    controller, server = start_smtp(port)
    mailer = Mailer(SmtpConfig(host=server.host, port=port, sender="billing@otautahi.example"), keep=2)
    try:
        for n in range(3):
            await mailer.send(_outbound("mere@example.net", n, s7_pdf))
        assert mailer.sessions.opened == 1 and len(server.inbox.raw) == 3
        controller.stop()  # the kept session dies with the server
        controller, server = start_smtp(port)
        await mailer.send(_outbound("mere@example.net", 3, s7_pdf))
        assert mailer.sessions.opened == 2
        assert [m["Subject"] for m in server.inbox.messages] == ["Invoice 3"]
        with pytest.raises(PermanentDeliveryError):  # refused: that session is not kept ...
            await mailer.send(_outbound("bounce@example.net", 4, s7_pdf))
        await mailer.send(_outbound("mere@example.net", 5, s7_pdf))  # ... the next message gets its own
        assert mailer.sessions.opened == 3
        assert [m["Subject"] for m in server.inbox.messages] == ["Invoice 3", "Invoice 5"]
    finally:
        await mailer.close()
        controller.stop()
