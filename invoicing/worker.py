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
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from invoicing import metrics
from invoicing import store as istore
from invoicing.codec import invoice_from_dict
from invoicing.delivery import Deliverer, DeliveryResult, FailedPermanently, RealmDelivery, RetryAt
from invoicing.model import Invoice, Receipt
from invoicing.pdf import render_invoice, render_receipt
from invoicing.tables import deliveries
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
        jobs = [(row, invoice_from_dict(row.document)) for row in rows if row.id in taken]
        # The pool renders the whole batch while finished ones are delivered, a few at a time.
        pdfs = {row.id: asyncio.ensure_future(render(self.pool, invoice))
                for row, invoice in jobs if row.pdf is None}
        sending = asyncio.Semaphore(self.concurrency)

        async def one(row: Any, invoice: Invoice) -> None:
            pdf = row.pdf if row.pdf is not None else await pdfs[row.id]
            async with sending:
                settings = self.realm_delivery(invoice.realm, realms.get(invoice.realm))
                at = self.clock()
                result = await self.deliverer.deliver_invoice(
                    invoice, pdf, settings, now=at, account_email=choices.get(row.account_id),
                    attempts=row.attempts, message_key=row.message_key)
                async with self.engine.begin() as conn:
                    if row.pdf is None:
                        await istore.store_pdf(conn, row.id, pdf)
                    key = deliveries.c.invoice_id == row.id
                    label = await istore.record_attempt(conn, deliveries, key, result, at)
            count_attempt(metrics.DELIVERIES, "invoice", invoice.number, label, result)

        done = await asyncio.gather(*(one(row, invoice) for row, invoice in jobs), return_exceptions=True)
        for (_, invoice), outcome in zip(jobs, done, strict=True):
            if isinstance(outcome, BaseException):
                # stays claimed until the lease runs out, then is tried again
                log.error("invoice %s: cannot render or deliver: %r", invoice.number, outcome)
        return len(jobs)
