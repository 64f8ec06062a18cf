"""Receipts: one per payment, numbered per realm, naming what it settled (oldest invoice
first) and what is still owed; rendered and e-mailed to a real SMTP server (both databases)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from invoicing.codec import receipt_from_dict
from invoicing.delivery import Deliverer, PrintOutbox, RealmDelivery, RetryPolicy
from invoicing.mailer import Mailer
from invoicing.receipts import ReceiptDelivery, issue_receipts, list_receipts
from invoicing.run import billing_run
from invoicing.smtp import SmtpConfig
from invoicing.tables import receipts
from provisioning.models import OPERATOR, NewAccount
from provisioning.service import Service
from tests.invoicing.conftest import SmtpServer, billing_now, pdf_text
from tests.invoicing.worker_fixtures import CATALOG, day

now = billing_now


async def _documents(service: Service) -> list[dict[str, object]]:
    from sqlalchemy import select

    async with service.engine.connect() as conn:
        rows = await conn.execute(select(receipts.c.document).order_by(receipts.c.id))
        return [dict(d) for d in rows.scalars()]


async def test_each_payment_gets_one_receipt_naming_what_it_settled(service: Service) -> None:
    account = await service.create_account(OPERATOR, NewAccount(
        "rua", plan="Fibre 300", plan_start=day("2026-06-16"), email="rua@example.net"))
    await billing_run(service.engine, CATALOG, date(2026, 7, 1), now=now)  # 148.35 (June) and 69.00 (July)
    await service.payment(OPERATOR, account.id, "150.00", reference="bank-1")
    made = await issue_receipts(service.engine, now=now)
    assert made == [{"number": "RCT-default-2026-000001", "account": "rua@default", "amount": "150.00",
                     "currency": "NZD"}]
    await service.payment(OPERATOR, account.id, "67.35", reference="bank-2", description="Card")
    assert [m["number"] for m in await issue_receipts(service.engine, now=now)] == ["RCT-default-2026-000002"]
    assert await issue_receipts(service.engine, now=now) == []  # once per payment

    first, second = (receipt_from_dict(d) for d in await _documents(service))
    assert [(s.number, str(s.amount)) for s in first.settled] == [
        ("INV-default-2026-000001", "148.35"), ("INV-default-2026-000002", "1.65")]
    assert (str(first.balance_after), first.reference, first.method) == ("67.35", "bank-1", "Payment")
    assert [(s.number, str(s.amount)) for s in second.settled] == [("INV-default-2026-000002", "67.35")]
    assert (str(second.balance_after), second.method) == ("0.00", "Card")


async def test_receipts_are_rendered_and_emailed(service: Service, smtp_server: SmtpServer,
                                                 tmp_path: Path) -> None:
    account = await service.create_account(OPERATOR, NewAccount(
        "tui", plan="Fibre 300", plan_start=day("2026-06-16"), email="tui@example.net", contact_name="Tui"))
    await billing_run(service.engine, CATALOG, date(2026, 7, 1), now=now)
    await service.payment(OPERATOR, account.id, "217.35", reference="bank-9")
    await issue_receipts(service.engine, now=now)
    mailer = Mailer(SmtpConfig("127.0.0.1", smtp_server.port, "billing@jet.example", timeout=5))
    deliverer = Deliverer(mailer, PrintOutbox(tmp_path), RetryPolicy())
    worker = ReceiptDelivery(service.engine, deliverer, None, now, lambda name, realm: RealmDelivery())
    assert await worker.deliver_due() == 1
    assert await worker.deliver_due() == 0
    [message] = smtp_server.inbox.messages
    assert message["To"] == "tui@example.net"
    assert message["Subject"] == "Receipt RCT-default-2026-000001 from default"
    [pdf] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    text = pdf_text(pdf.get_content(), tmp_path)
    assert "RCT-default-2026-000001" in text and "217.35" in text and "INV-default-2026-000002" in text
    async with service.engine.connect() as conn:
        [listed] = await list_receipts(conn, account_id=account.id)
    assert listed["delivery"]["status"] == "delivered" and listed["delivery"]["channel"] == "email"
