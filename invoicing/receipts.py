"""Receipts: every payment gets one, numbered per realm, rendered in the realm's branding
and delivered like an invoice (e-mail or the print outbox, retried, never lost).

``issue_receipts`` runs with each billing run and in the service loop: each payment in the
ledger without a receipt gets one, in its own transaction (``receipts.ledger_id`` is
unique, so two invoicers never make two). What the payment settled follows the same rule
as dunning (``store.unpaid_invoices``): payments settle invoices oldest first; the receipt
names the invoices this payment paid (part of) and what is still owed after it.
``ReceiptDelivery`` renders (process pool) and sends them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from invoicing import metrics
from invoicing import store as istore
from invoicing.codec import receipt_from_dict, receipt_to_dict
from invoicing.delivery import Deliverer, DeliveryResult, RealmDelivery
from invoicing.model import Invoice, Receipt, SettledInvoice, pdf_filename
from invoicing.run import buyer_of, seller_of
from invoicing.store import PENDING, delivery_dict
from invoicing.tables import receipt_counters, receipts
from invoicing.worker import LEASE, RECEIPTS, deliver_round
from provisioning import store as pstore
from provisioning.tables import ledger

log = logging.getLogger("jet.invoicer.receipts")

RECEIPT_FORMAT = "RCT-{realm}-{yyyy}-{seq:06}"


async def issue_receipts(engine: AsyncEngine, *, now: Callable[[], datetime]) -> list[dict[str, str]]:
    """A receipt for every payment that has none yet; returns what was made."""
    q = (select(ledger).outerjoin(receipts, receipts.c.ledger_id == ledger.c.id)
         .where(ledger.c.kind == "payment", receipts.c.id.is_(None)).order_by(ledger.c.id))  # fmt: skip
    async with engine.connect() as conn:
        payments = (await conn.execute(q)).all()
    made: list[dict[str, str]] = []
    for p in payments:
        try:
            async with engine.begin() as conn:
                account = await pstore.get_account(conn, p.account_id)
                realm = await pstore.get_realm(conn, p.realm)
                if account is None or realm is None:
                    continue
                amount = Decimal(str(p.amount))
                paid, owed = await istore.settlement(conn, p.account_id, p.id)
                settled = tuple(SettledInvoice(r.number, part, r.issue_date) for r, part in paid)
                number = await istore.next_number(conn, p.realm, RECEIPT_FORMAT, p.entry_date,
                                                  receipt_counters)
                method = p.description if p.description and p.description != "payment" else "Payment"
                receipt = Receipt(number=number, realm=p.realm, currency=p.currency,
                                  payment_date=p.entry_date, amount=amount, method=method,
                                  seller=seller_of(realm), buyer=buyer_of(account),
                                  reference=p.reference or "", settled=settled, balance_after=owed)
                at = now()
                await conn.execute(insert(receipts).values(
                    number=number, realm=p.realm, account_id=p.account_id, ledger_id=p.id, amount=amount,
                    currency=p.currency, payment_date=p.entry_date, document=receipt_to_dict(receipt),
                    pdf=None, status=PENDING, channel=None, attempts=0, next_attempt_at=at, last_error=None,
                    created_at=at, updated_at=at))  # fmt: skip
        except IntegrityError:
            continue  # another invoicer made this one a moment ago
        metrics.RECEIPTS_CREATED.inc()
        made.append({"number": number, "account": f"{account.username}@{account.realm}",
                     "amount": str(amount), "currency": p.currency})
        log.info("receipt %s for %s: %s %s", number, account.username, amount, p.currency)
    return made


async def list_receipts(conn: AsyncConnection, *, account_id: int | None = None, realm: str | None = None,
                        limit: int = 1000) -> list[dict[str, Any]]:
    q = select(receipts.c.number, receipts.c.realm, receipts.c.account_id, receipts.c.amount,
               receipts.c.currency, receipts.c.payment_date, receipts.c.status, receipts.c.channel,
               receipts.c.attempts, receipts.c.next_attempt_at, receipts.c.last_error, receipts.c.detail,
               ).order_by(receipts.c.id).limit(limit)  # fmt: skip
    if account_id is not None:
        q = q.where(receipts.c.account_id == account_id)
    if realm is not None:
        q = q.where(receipts.c.realm == realm)
    return [{"number": r.number, "realm": r.realm, "account_id": r.account_id, "amount": str(r.amount),
             "currency": r.currency, "payment_date": r.payment_date.isoformat(),
             "delivery": delivery_dict(r)} for r in await conn.execute(q)]


async def receipt_pdf(conn: AsyncConnection, number: str) -> tuple[str, str, bytes | None] | None:
    """(realm, file name, PDF or None) of a receipt."""
    row = (await conn.execute(select(receipts.c.realm, receipts.c.pdf)
                              .where(receipts.c.number == number))).first()  # fmt: skip
    if row is None:
        return None
    return row.realm, pdf_filename(number), row.pdf


class ReceiptDelivery:
    """Render and deliver due receipts, like ``worker.DeliveryWorker`` does invoices."""

    def __init__(self, engine: AsyncEngine, deliverer: Deliverer, pool: Executor | None,
                 clock: Callable[[], datetime], realm_delivery: Callable[[str, Any], RealmDelivery],
                 batch: int = 50) -> None:  # fmt: skip
        self.engine, self.deliverer, self.pool, self.clock = engine, deliverer, pool, clock
        self.realm_delivery, self.batch = realm_delivery, batch

    async def deliver_due(self) -> int:
        now = self.clock()
        async with self.engine.begin() as conn:
            rows = (await conn.execute(select(receipts).where(
                receipts.c.status == PENDING, receipts.c.next_attempt_at <= now).order_by(
                receipts.c.next_attempt_at, receipts.c.id).limit(self.batch))).all()
            ids = [r.id for r in rows]
            taken = await istore.claim_due(conn, receipts, receipts.c.id, ids, now, now + LEASE)
            realms = {r.name: r for r in await pstore.list_realms(conn)}
            choices = await istore.invoice_email_choices(conn, [r.account_id for r in rows if r.id in taken])
        jobs: list[tuple[Any, Invoice | Receipt]] = [(row, receipt_from_dict(row.document)) for row in rows
                                                      if row.id in taken]

        def send(row: Any, receipt: Any, pdf: bytes, at: datetime) -> Awaitable[DeliveryResult]:
            return self.deliverer.deliver_receipt(
                receipt, pdf, self.realm_delivery(receipt.realm, realms.get(receipt.realm)), now=at,
                account_email=choices.get(row.account_id), attempts=row.attempts)

        return await deliver_round(self.engine, self.pool, self.clock, RECEIPTS, jobs, send, concurrency=4)
