"""invoice.created with every invoice; invoice.overdue once per invoice still owed after its
due date and grace, payments settling the oldest invoices first (both databases)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from invoicing import store as istore
from invoicing.overdue import flag_overdue
from invoicing.run import billing_run
from provisioning.models import OPERATOR, NewAccount
from provisioning.service import Service
from provisioning.tables import outbox
from tests.invoicing.conftest import billing_now
from tests.invoicing.worker_fixtures import CATALOG, day

now = billing_now


async def _events(service: Service, kind: str) -> list[dict[str, Any]]:
    async with service.engine.connect() as conn:
        rows = await conn.execute(select(outbox.c.account_id, outbox.c.payload).where(outbox.c.type == kind)
                                  .order_by(outbox.c.id))  # fmt: skip
        return [{"account_id": a, **p} for a, p in rows]


async def _bill_june_and_july(service: Service, name: str) -> int:
    new = NewAccount(name, plan="Fibre 300", plan_start=day("2026-06-16"), email=f"{name}@example.net")
    account = await service.create_account(OPERATOR, new)
    await billing_run(service.engine, CATALOG, date(2026, 7, 1), now=now, account_ids=[account.id])
    return account.id


async def test_each_invoice_raises_invoice_created_in_its_transaction(service: Service) -> None:
    account = await _bill_june_and_july(service, "late")
    created = await _events(service, "invoice.created")
    assert [(e["account_id"], e["invoice"]["number"], e["invoice"]["total"], e["invoice"]["due_date"])
            for e in created] == [(account, "INV-default-2026-000001", "148.35", "2026-07-15"),
                                  (account, "INV-default-2026-000002", "69.00", "2026-07-15")]
    assert created[0]["user"] == "late" and created[0]["invoice"]["currency"] == "NZD"
    await billing_run(service.engine, CATALOG, date(2026, 7, 1), now=now)  # billed already: no new events
    assert len(await _events(service, "invoice.created")) == 2


async def test_overdue_once_after_due_date_and_grace(service: Service) -> None:
    account = await _bill_june_and_july(service, "owes")
    # Due 15 July, 7 days' grace: still fine on the 22nd, overdue on the 23rd.
    assert (await flag_overdue(service.engine, date(2026, 7, 22), 7, now=now)).flagged == []
    report = await flag_overdue(service.engine, date(2026, 7, 23), 7, now=now)
    assert [(f["number"], f["owed"]) for f in report.flagged] == [
        ("INV-default-2026-000001", "148.35"), ("INV-default-2026-000002", "69.00")]
    assert (await flag_overdue(service.engine, date(2026, 7, 30), 7, now=now)).flagged == []  # once only
    events = await _events(service, "invoice.overdue")
    assert [(e["account_id"], e["invoice"]["number"], e["invoice"]["owed"], e["grace_days"])
            for e in events] == [(account, "INV-default-2026-000001", "148.35", 7),
                                 (account, "INV-default-2026-000002", "69.00", 7)]


async def test_payments_settle_the_oldest_invoice_first(service: Service) -> None:
    paid_up = await _bill_june_and_july(service, "payer")
    partly = await _bill_june_and_july(service, "partial")
    await service.payment(OPERATOR, paid_up, "217.35", reference="bank-1")
    await service.payment(OPERATOR, partly, "150.00", reference="bank-2")  # June's 148.35 and 1.65 of July
    async with service.engine.connect() as conn:
        assert await istore.unpaid_invoices(conn, paid_up) == []
        owed = await istore.unpaid_invoices(conn, partly)
    assert [(r.number, str(o)) for r, o in owed] == [("INV-default-2026-000004", "67.35")]
    report = await flag_overdue(service.engine, date(2026, 8, 1), 7, now=now)
    assert [(f["account"], f["number"], f["owed"]) for f in report.flagged] == [
        ("partial@default", "INV-default-2026-000004", "67.35")]
