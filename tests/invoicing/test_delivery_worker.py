"""Delivery of stored invoices: e-mailed with the PDF to a real SMTP server (aiosmtpd);
SMTP down -> stored with the next attempt time, delivered once it is back; e-mail off
for the realm -> the print outbox; resend queues it again with a new Message-ID."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from invoicing import store as istore
from invoicing import worker as worker_module
from invoicing.delivery import Deliverer, PrintOutbox, RetryPolicy
from invoicing.mailer import Mailer
from invoicing.main import realm_mail
from invoicing.run import billing_run
from invoicing.smtp import SmtpConfig
from invoicing.worker import DeliveryWorker
from jetd.settings import Settings
from provisioning.db import make_engine
from provisioning.models import OPERATOR, NewAccount
from provisioning.service import Service
from tests.invoicing.conftest import SmtpServer, free_port
from tests.invoicing.worker_fixtures import CATALOG, day


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 16, 2, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def service(database_url: str) -> AsyncIterator[Service]:
    svc = Service(make_engine(database_url), clock=lambda: datetime(2026, 6, 16, tzinfo=UTC), scrypt_n=2)
    await svc.start()
    await svc.update_realm(OPERATOR, "default", currency="NZD", tax_name="GST", tax_rate="0.15")
    await svc.create_account(OPERATOR, NewAccount("s7", plan="Fibre 300", plan_start=day("2026-06-16"),
                                                  email="s7@example.net"))
    await billing_run(svc.engine, CATALOG, date(2026, 6, 16), now=lambda: datetime(2026, 6, 16, tzinfo=UTC))
    yield svc
    await svc.close()


def _worker(service: Service, port: int, outbox: Path, clock: Clock) -> DeliveryWorker:
    mailer = Mailer(SmtpConfig("127.0.0.1", port, "billing@jet.example", timeout=5))
    return DeliveryWorker(service.engine, Deliverer(mailer, PrintOutbox(outbox), RetryPolicy()), None, clock)


async def _delivery(service: Service) -> dict[str, object]:
    async with service.engine.connect() as conn:
        return (await istore.list_invoices(conn))[0]["delivery"]  # type: ignore[no-any-return]


async def test_smtp_down_then_up(service: Service, smtp_server: SmtpServer, tmp_path: Path) -> None:
    clock = Clock()
    down = _worker(service, free_port(), tmp_path, clock)  # nothing listens there
    assert await down.deliver_due() == 1
    d = await _delivery(service)
    assert d["status"] == "pending" and d["attempts"] == 1 and "unavailable" in str(d["last_error"])
    assert d["next_attempt_at"] == (clock.now + timedelta(minutes=1)).isoformat()
    up = _worker(service, smtp_server.port, tmp_path, clock)
    assert await up.deliver_due() == 0  # not due yet
    clock.now += timedelta(minutes=1)
    assert await up.deliver_due() == 1
    d = await _delivery(service)
    assert (d["status"], d["channel"], d["attempts"]) == ("delivered", "email", 2)
    [message] = smtp_server.inbox.messages
    assert message["To"] == "s7@example.net"
    [pdf] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == "INV-default-2026-000001.pdf"
    assert "148.35" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    async with service.engine.begin() as conn:
        assert await istore.requeue(conn, "INV-default-2026-000001", clock.now)
    assert await up.deliver_due() == 1
    assert len(smtp_server.inbox.messages) == 2
    ids = {m["Message-ID"] for m in smtp_server.inbox.messages}
    assert len(ids) == 2


async def test_email_off_goes_to_the_print_outbox(service: Service, tmp_path: Path) -> None:
    await service.update_realm(OPERATOR, "default", email_delivery=False)
    worker = _worker(service, free_port(), tmp_path, Clock())
    assert await worker.deliver_due() == 1
    d = await _delivery(service)
    assert (d["status"], d["channel"]) == ("delivered", "print")
    assert (tmp_path / "default" / "INV-default-2026-000001.pdf").read_bytes().startswith(b"%PDF")


async def test_a_realms_own_sender_and_text(service: Service, smtp_server: SmtpServer,
                                            tmp_path: Path) -> None:
    body = tmp_path / "invoice.txt"
    body.write_text("Dear $buyer_name, invoice $number: $total due $due_date. -- $seller_name\n")
    settings = Settings.model_validate({"invoicer": {"realms": {"default": {
        "sender": "accounts@isp.example", "reply_to": "help@isp.example",
        "invoice_subject": "Your bill $number", "invoice_body_file": str(body)}}}})
    mailer = Mailer(SmtpConfig("127.0.0.1", smtp_server.port, "billing@jet.example", timeout=5))
    deliverer = Deliverer(mailer, PrintOutbox(tmp_path), RetryPolicy())
    worker = DeliveryWorker(service.engine, deliverer, None, Clock(),
                            realm_mail=realm_mail(settings.invoicer))
    assert await worker.deliver_due() == 1
    [message] = smtp_server.inbox.messages
    assert (message["From"], message["Reply-To"], message["Subject"]) == (
        "accounts@isp.example", "help@isp.example", "Your bill INV-default-2026-000001")
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.startswith("Dear ") and "INV-default-2026-000001: NZ$148.35 due 2026-06-30" in text


def test_realm_texts_are_checked() -> None:
    with pytest.raises(ValidationError, match="unknown placeholder"):
        Settings.model_validate({"invoicer": {"realms": {"r": {"invoice_subject": "Bill $nosuch"}}}})
    with pytest.raises(ValidationError, match="receipt_body_file: cannot read"):
        Settings.model_validate({"invoicer": {"realms": {"r": {"receipt_body_file": "/nonexistent.txt"}}}})


async def test_the_accounts_own_choice_wins_over_the_realms(service: Service, smtp_server: SmtpServer,
                                                             tmp_path: Path) -> None:
    [account] = (await service.list_accounts(OPERATOR)).items
    # the realm e-mails, she wants paper
    await service.update_account(OPERATOR, account.id, invoice_email=False)
    worker = _worker(service, smtp_server.port, tmp_path, Clock())
    assert await worker.deliver_due() == 1
    assert (await _delivery(service))["channel"] == "print" and smtp_server.inbox.messages == []

    # the realm prints, she wants e-mail
    await service.update_realm(OPERATOR, "default", email_delivery=False)
    await service.update_account(OPERATOR, account.id, invoice_email=True)
    async with service.engine.begin() as conn:
        assert await istore.requeue(conn, "INV-default-2026-000001", Clock().now)
    assert await worker.deliver_due() == 1
    assert (await _delivery(service))["channel"] == "email" and len(smtp_server.inbox.messages) == 1


async def test_an_invoice_that_cannot_be_rendered_holds_up_no_other(service: Service, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A fault injected into the renderer for one invoice: the rest of the batch is delivered; that
    one stays claimed for the lease and is delivered on the next round after it."""
    for name in ("t1", "t2"):
        await service.create_account(OPERATOR, NewAccount(name, plan="Fibre 300",
                                                          plan_start=day("2026-06-16")))
    await billing_run(service.engine, CATALOG, date(2026, 6, 16), now=Clock())
    await service.update_realm(OPERATOR, "default", email_delivery=False)
    real = worker_module.render_invoice

    def flaky(invoice: Any) -> bytes:
        if invoice.number.endswith("000002"):
            raise RuntimeError("renderer crashed")
        return real(invoice)

    monkeypatch.setattr(worker_module, "render_invoice", flaky)
    clock = Clock()
    worker = _worker(service, free_port(), tmp_path, clock)
    assert await worker.deliver_due() == 3
    assert sorted(p.name for p in (tmp_path / "default").iterdir()) == [
        "INV-default-2026-000001.pdf", "INV-default-2026-000003.pdf"]
    monkeypatch.setattr(worker_module, "render_invoice", real)
    assert await worker.deliver_due() == 0  # still claimed
    clock.now += timedelta(minutes=11)
    assert await worker.deliver_due() == 1
    assert (tmp_path / "default" / "INV-default-2026-000002.pdf").read_bytes().startswith(b"%PDF")


async def test_two_invoicers_deliver_each_invoice_once(service: Service, database_url: str,
                                                       tmp_path: Path) -> None:
    """Two invoicers (their own connections), each delivering in its lanes (two on PostgreSQL):
    every invoice goes out once."""
    for i in range(8):
        await service.create_account(OPERATOR, NewAccount(f"d{i}", plan="Fibre 300",
                                                          plan_start=day("2026-06-16")))
    await billing_run(service.engine, CATALOG, date(2026, 6, 16), now=Clock())
    await service.update_realm(OPERATOR, "default", email_delivery=False)
    other = make_engine(database_url)
    try:
        first = _worker(service, free_port(), tmp_path, Clock())
        first.batch = 2
        second = DeliveryWorker(other, first.deliverer, None, Clock(), batch=2)
        counts = await asyncio.gather(first.deliver_all(), second.deliver_all())
    finally:
        await other.dispose()
    assert sum(counts) == 9
    async with service.engine.connect() as conn:
        rows = await istore.list_invoices(conn)
    assert [(r["delivery"]["status"], r["delivery"]["attempts"]) for r in rows] == [("delivered", 1)] * 9
    assert len(list((tmp_path / "default").iterdir())) == 9
