"""Delivery of stored invoices: render each PDF once in a process pool (never on the
event loop), then one delivery attempt per due invoice through ``delivery.Deliverer``;
the result is stored — delivered, retry at a time (backoff), or failed for good. A
running invoicer calls ``deliver_due`` every few seconds, so nothing is lost while the
SMTP server is down. Several invoicers share the work: a due delivery is claimed for a
lease before it is attempted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from invoicing import metrics
from invoicing import store as istore
from invoicing.codec import invoice_from_dict
from invoicing.delivery import Deliverer, DeliveryResult, FailedPermanently, RealmDelivery, RetryAt
from invoicing.model import Invoice, Receipt
from invoicing.pdf import render_invoice, render_receipt
from invoicing.tables import deliveries, invoices, receipts
from provisioning import store as pstore

log = logging.getLogger("jet.invoicer.delivery")

LEASE = timedelta(minutes=10)


async def render(pool: Executor | None, invoice: Invoice | Receipt) -> bytes:
    """The PDF of an invoice or a receipt, in the render pool (never on the event loop)."""
    draw: Callable[[Any], bytes] = render_receipt if isinstance(invoice, Receipt) else render_invoice
    if pool is None:
        return draw(invoice)
    return await asyncio.get_running_loop().run_in_executor(pool, draw, invoice)


def count_attempt(counter: Any, kind: str, number: str, label: str, result: DeliveryResult) -> None:
    """Metric and log line for one delivery attempt of an invoice or a receipt."""
    counter.labels(label).inc()
    if isinstance(result, FailedPermanently):
        log.error("%s %s: delivery failed for good: %s", kind, number, result.reason)
    elif isinstance(result, RetryAt):
        log.warning("%s %s: delivery failed (%s); next attempt %s", kind, number, result.reason,
                    result.at.isoformat())


Send = Callable[[Any, Any, bytes, datetime], Awaitable[DeliveryResult]]


@dataclass(frozen=True)
class Documents:
    """Invoices or receipts, as a delivery round sees them."""

    kind: str  # "invoice" or "receipt": log lines
    state: Table  # where the delivery state is kept
    key: Any  # the column of ``state`` naming the document
    documents: Table  # where the PDF is kept, by ``id``
    counter: Any  # the attempts metric


INVOICES = Documents("invoice", deliveries, deliveries.c.invoice_id, invoices, metrics.DELIVERIES)
RECEIPTS = Documents("receipt", receipts, receipts.c.id, receipts, metrics.RECEIPT_DELIVERIES)


async def deliver_round(engine: AsyncEngine, pool: Executor | None, clock: Callable[[], datetime],
                        what: Documents, jobs: list[tuple[Any, Invoice | Receipt]], send: Send,
                        concurrency: int) -> int:
    """Deliver claimed documents: ``jobs`` are (row with id, pdf, number, document). The pool renders
    them all while the finished ones go out, ``concurrency`` at a time; each PDF and attempt is
    stored in one transaction. One that cannot be rendered or delivered is logged and stays
    claimed until the lease runs out (then it is tried again); the others go out."""
    pdfs = {row.id: asyncio.ensure_future(render(pool, doc)) for row, doc in jobs if row.pdf is None}
    sending = asyncio.Semaphore(concurrency)

    async def one(row: Any, doc: Invoice | Receipt) -> None:
        pdf = row.pdf if row.pdf is not None else await pdfs[row.id]
        async with sending:
            at = clock()
            result = await send(row, doc, pdf, at)
            async with engine.begin() as conn:
                if row.pdf is None:
                    await istore.store_pdf(conn, what.documents, row.id, pdf)
                label = await istore.record_attempt(conn, what.state, what.key == row.id, result, at)
        count_attempt(what.counter, what.kind, doc.number, label, result)

    done = await asyncio.gather(*(one(row, doc) for row, doc in jobs), return_exceptions=True)
    for (_, doc), outcome in zip(jobs, done, strict=True):
        if isinstance(outcome, BaseException):
            log.error("%s %s: cannot render or deliver: %r", what.kind, doc.number, outcome)
    return len(jobs)


class DeliveryWorker:
    def __init__(self, engine: AsyncEngine, deliverer: Deliverer, pool: Executor | None,
                 clock: Callable[[], datetime], batch: int = 50,
                 realm_mail: Mapping[str, RealmDelivery] | None = None,
                 concurrency: int = 4) -> None:  # fmt: skip
        self.engine = engine
        self.deliverer = deliverer
        self.pool = pool
        self.clock = clock
        self.batch = batch
        self.concurrency = concurrency  # deliveries (SMTP sessions, outbox writes) at once
        # [invoicer.realms.NAME]: sender, Reply-To and texts (email_enabled comes from the realm)
        self.realm_mail = dict(realm_mail or {})

    def realm_delivery(self, name: str, realm: Any) -> RealmDelivery:
        base = self.realm_mail.get(name, RealmDelivery())
        return replace(base, email_enabled=realm.email_delivery if realm else True)

    async def deliver_all(self) -> int:
        """Deliver until nothing is due; return how many were attempted. On PostgreSQL two batches
        go at once, so the render pool has the next batch while one batch's deliveries go out (and
        while a billing run shares the event loop); SQLite has one writer: one batch at a time."""
        async def lane() -> int:
            total = 0
            while attempted := await self.deliver_due():
                total += attempted
            return total

        lanes = 2 if self.engine.dialect.name == "postgresql" else 1
        return sum(await asyncio.gather(*(lane() for _ in range(lanes))))

    async def deliver_due(self) -> int:
        """Attempt every delivery due now; return how many were attempted."""
        now = self.clock()
        async with self.engine.begin() as conn:
            rows = await istore.due_deliveries(conn, now, self.batch)
            ids = [r.id for r in rows]
            taken = await istore.claim_due(conn, deliveries, deliveries.c.invoice_id, ids, now, now + LEASE)
            realms = {r.name: r for r in await pstore.list_realms(conn)}
            choices = await istore.invoice_email_choices(conn, [row.account_id for row in rows
                                                                if row.id in taken])
        jobs: list[tuple[Any, Invoice | Receipt]] = [(row, invoice_from_dict(row.document)) for row in rows
                                                      if row.id in taken]

        def send(row: Any, invoice: Any, pdf: bytes, at: datetime) -> Awaitable[DeliveryResult]:
            return self.deliverer.deliver_invoice(
                invoice, pdf, self.realm_delivery(invoice.realm, realms.get(invoice.realm)), now=at,
                account_email=choices.get(row.account_id), attempts=row.attempts, message_key=row.message_key)

        return await deliver_round(self.engine, self.pool, self.clock, INVOICES, jobs, send, self.concurrency)
