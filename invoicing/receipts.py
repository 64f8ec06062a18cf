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

import asyncio
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from invoicing import metrics
from invoicing.codec import receipt_from_dict, receipt_to_dict
from invoicing.delivery import Delivered, Deliverer, FailedPermanently, RealmDelivery
from invoicing.model import Receipt, SettledInvoice
from invoicing.pdf import render_receipt
from invoicing.run import buyer_of, seller_of
from invoicing.store import DELIVERED, FAILED, PENDING, invoice_email_choices
from invoicing.tables import invoices, receipt_counters, receipts
from provisioning import store as pstore
from provisioning.tables import ledger

log = logging.getLogger("jet.invoicer.receipts")

RECEIPT_FORMAT = "RCT-{realm}-{yyyy}-{seq:06}"
LEASE = timedelta(minutes=10)


async def next_receipt_number(conn: AsyncConnection, realm: str, day: date) -> str:
    key = and_(receipt_counters.c.realm == realm, receipt_counters.c.year == day.year)
    seq = (await conn.execute(update(receipt_counters).where(key).values(last=receipt_counters.c.last + 1)
                              .returning(receipt_counters.c.last))).scalar()  # fmt: skip
    if seq is None:
        await conn.execute(insert(receipt_counters).values(realm=realm, year=day.year, last=1))
        seq = 1
    return RECEIPT_FORMAT.format(realm=realm, yyyy=day.year, seq=seq)


async def settlement(conn: AsyncConnection, account_id: int, payment_id: int, amount: Decimal
                     ) -> tuple[tuple[SettledInvoice, ...], Decimal]:
    """What the payment ``payment_id`` paid, oldest invoice first after the payments before
    it, and what the account owes after it (negative: in credit)."""
    before = (await conn.execute(select(ledger.c.amount).where(
        ledger.c.account_id == account_id, ledger.c.kind == "payment", ledger.c.id < payment_id))).scalars()
    left_before = sum((Decimal(str(p)) for p in before), Decimal(0))
    rows = (await conn.execute(select(invoices.c.number, invoices.c.issue_date, invoices.c.total)
                               .where(invoices.c.account_id == account_id)
                               .order_by(invoices.c.issue_date, invoices.c.id))).all()  # fmt: skip
    settled: list[SettledInvoice] = []
    left = amount
    billed = Decimal(0)
    for number, issue_date, total in rows:
        total = Decimal(str(total))
        billed += max(total, Decimal(0))
        if total <= 0:
            continue
        covered_before = min(left_before, total)
        left_before -= covered_before
        open_part = total - covered_before
        if open_part > 0 and left > 0:
            paid = min(left, open_part)
            left -= paid
            settled.append(SettledInvoice(number, paid, issue_date))
    upto = (await conn.execute(select(ledger.c.amount).where(
        ledger.c.account_id == account_id, ledger.c.kind == "payment", ledger.c.id <= payment_id))).scalars()
    return tuple(settled), billed - sum((Decimal(str(p)) for p in upto), Decimal(0))


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
                settled, owed = await settlement(conn, p.account_id, p.id, amount)
                number = await next_receipt_number(conn, p.realm, p.entry_date)
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
               receipts.c.attempts, receipts.c.last_error).order_by(receipts.c.id).limit(limit)  # fmt: skip
    if account_id is not None:
        q = q.where(receipts.c.account_id == account_id)
    if realm is not None:
        q = q.where(receipts.c.realm == realm)
    return [{"number": r.number, "realm": r.realm, "account_id": r.account_id, "amount": str(r.amount),
             "currency": r.currency, "payment_date": r.payment_date.isoformat(),
             "delivery": {"status": r.status, "channel": r.channel, "attempts": r.attempts,
                          "last_error": r.last_error}} for r in await conn.execute(q)]


async def receipt_pdf(conn: AsyncConnection, number: str) -> tuple[str, str, bytes | None] | None:
    """(realm, file name, PDF or None) of a receipt."""
    row = (await conn.execute(select(receipts.c.realm, receipts.c.document, receipts.c.pdf)
                              .where(receipts.c.number == number))).first()  # fmt: skip
    if row is None:
        return None
    return row.realm, receipt_from_dict(row.document).filename, row.pdf


async def _render(pool: Executor | None, receipt: Receipt) -> bytes:
    if pool is None:
        return render_receipt(receipt)
    return await asyncio.get_running_loop().run_in_executor(pool, render_receipt, receipt)


class ReceiptDelivery:
    """Render and deliver due receipts, like ``worker.DeliveryWorker`` does invoices."""

    def __init__(self, engine: AsyncEngine, deliverer: Deliverer, pool: Executor | None,
                 clock: Callable[[], datetime], realm_delivery: Callable[[str, Any], RealmDelivery],
                 batch: int = 50) -> None:  # fmt: skip
        self.engine, self.deliverer, self.pool, self.clock = engine, deliverer, pool, clock
        self.realm_delivery, self.batch = realm_delivery, batch

    async def deliver_due(self) -> int:
        now = self.clock()
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(receipts).where(
                receipts.c.status == PENDING, receipts.c.next_attempt_at <= now).order_by(
                receipts.c.next_attempt_at, receipts.c.id).limit(self.batch))).all()
            realms = {r.name: r for r in await pstore.list_realms(conn)}
            choices: Mapping[int, bool | None] = await invoice_email_choices(
                conn, [r.account_id for r in rows])
        attempted = 0
        for row in rows:
            async with self.engine.begin() as conn:  # a lease: another invoicer skips it meanwhile
                taken = await conn.execute(update(receipts).where(
                    receipts.c.id == row.id, receipts.c.status == PENDING,
                    receipts.c.next_attempt_at == row.next_attempt_at).values(next_attempt_at=now + LEASE))
                if taken.rowcount != 1:
                    continue
            receipt = receipt_from_dict(row.document)
            pdf = row.pdf
            if pdf is None:
                pdf = await _render(self.pool, receipt)
                async with self.engine.begin() as conn:
                    await conn.execute(update(receipts).where(receipts.c.id == row.id).values(pdf=pdf))
            at = self.clock()
            result = await self.deliverer.deliver_receipt(
                receipt, pdf, self.realm_delivery(receipt.realm, realms.get(receipt.realm)), now=at,
                account_email=choices.get(row.account_id), attempts=row.attempts, message_key=receipt.number)
            values: dict[str, Any] = {"attempts": result.attempts, "updated_at": at}
            if isinstance(result, Delivered):
                values.update(status=DELIVERED, channel=result.channel.value, next_attempt_at=None,
                              last_error=None)
                metrics.RECEIPT_DELIVERIES.labels("delivered").inc()
            elif isinstance(result, FailedPermanently):
                values.update(status=FAILED, next_attempt_at=None, last_error=result.reason)
                metrics.RECEIPT_DELIVERIES.labels("failed").inc()
                log.error("receipt %s: delivery failed for good: %s", receipt.number, result.reason)
            else:
                values.update(status=PENDING, next_attempt_at=result.at, last_error=result.reason)
                metrics.RECEIPT_DELIVERIES.labels("retry").inc()
            async with self.engine.begin() as conn:
                await conn.execute(update(receipts).where(receipts.c.id == row.id).values(**values))
            attempted += 1
        return attempted
