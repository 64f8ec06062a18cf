"""Billing runs on both databases: S7 exact (proration, activation fee, GST), S2 usage from
stored rated sessions, idempotency, catch-up, gapless numbers, credit carried forward."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select, update

from invoicing import store as istore
from invoicing.run import RunOptions, billing_run
from invoicing.tables import invoices
from provisioning.db import make_engine
from provisioning.models import OPERATOR, NewAccount
from provisioning.service import Service
from provisioning.tables import ledger
from rating import load_catalog
from tests.invoicing.conftest import billing_now
from tests.invoicing.worker_fixtures import CATALOG, PRICEBOOK, data_charge, day, s2_sessions, session

now = billing_now


async def _invoices(service: Service) -> list[dict[str, object]]:
    async with service.engine.connect() as conn:
        return await istore.list_invoices(conn)


async def _account(service: Service, name: str, plan: str, start: str) -> int:
    account = await service.create_account(OPERATOR, NewAccount(name, plan=plan, plan_start=day(start),
                                                                email=f"{name}@example.net"))
    return account.id


async def test_s7_june_then_july_exact(service: Service) -> None:
    await _account(service, "s7", "Fibre 300", "2026-06-16")
    june = await billing_run(service.engine, CATALOG, date(2026, 6, 16), now=now)
    assert [c["total"] for c in june.created] == ["148.35"]
    async with service.engine.connect() as conn:
        summary, inv, pdf = await istore.get_invoice(conn, "INV-default-2026-000001") or (None, None, None)
    assert inv is not None and summary is not None and pdf is None
    assert [(line.description.split(",")[0], line.amount) for line in inv.lines] == [
        ("Fibre 300", Decimal("30.00")), ("Installation (activation 16 Jun 2026)", Decimal("99.00"))]
    t = inv.totals
    assert (t.subtotal, t.tax, t.total) == (Decimal("129.00"), Decimal("19.35"), Decimal("148.35"))
    assert (summary["period_start"], summary["period_end"]) == ("2026-06-01", "2026-06-30")
    assert summary["delivery"]["status"] == "pending"

    again = await billing_run(service.engine, CATALOG, date(2026, 6, 20), now=now)
    assert again.created == [] and len(await _invoices(service)) == 1

    july = await billing_run(service.engine, CATALOG, date(2026, 7, 1), now=now)
    assert [(c["number"], c["total"]) for c in july.created] == [("INV-default-2026-000002", "69.00")]
    rows = await _invoices(service)
    assert [(r["subtotal"], r["tax"], r["total"]) for r in rows] == [
        ("129.00", "19.35", "148.35"), ("60.00", "9.00", "69.00")]


async def test_a_late_first_run_bills_each_period_once(service: Service) -> None:
    await _account(service, "late", "Fibre 300", "2026-06-16")
    report = await billing_run(service.engine, CATALOG, date(2026, 7, 1), now=now)
    assert [(c["number"], c["total"]) for c in report.created] == [
        ("INV-default-2026-000001", "148.35"), ("INV-default-2026-000002", "69.00")]
    assert (await billing_run(service.engine, CATALOG, date(2026, 7, 1), now=now)).created == []


async def test_s2_usage_from_stored_sessions(service: Service) -> None:
    account = await _account(service, "s2", "Business Metered", "2026-06-01")
    async with service.engine.begin() as conn:
        for i, s in enumerate(s2_sessions(account)):
            assert await istore.store_session(conn, s, f"jet:sessions:{{0}}/{i}-0", now())
        assert not await istore.store_session(conn, s2_sessions(account)[0], "again", now())  # redelivery
    report = await billing_run(service.engine, CATALOG, date(2026, 7, 1), now=now)
    assert [c["total"] for c in report.created] == ["109.25"]  # 95.00 + GST 14.25
    async with service.engine.connect() as conn:
        _, inv, _ = await istore.get_invoice(conn, report.created[0]["number"]) or (None, None, None)
    assert inv is not None
    assert [(line.description, line.quantity, line.amount) for line in inv.lines] == [
        ("Data", Decimal("65"), Decimal("95.00"))]
    assert inv.usage is not None and sum(p.quantity for p in inv.usage.points) == Decimal(65)
    assert (await billing_run(service.engine, CATALOG, date(2026, 7, 1), now=now)).created == []


async def test_credit_is_carried_forward_never_below_zero(service: Service) -> None:
    account = await _account(service, "solar", "Business Metered", "2026-06-01")
    credit = data_charge("1", "-10.00", datetime(2026, 6, 5, tzinfo=UTC))  # a credit line, e.g. export
    async with service.engine.begin() as conn:
        await istore.store_session(conn, session(account, "c1", [credit]), "x", now())
    report = await billing_run(service.engine, CATALOG, date(2026, 7, 1), now=now)
    async with service.engine.connect() as conn:
        rows = await istore.list_invoices(conn)
    assert [(r["total"], r["credit_forward"]) for r in rows] == [("0.00", "11.50")]  # 10.00 + GST
    assert report.created[0]["total"] == "0.00"
    async with service.engine.begin() as conn:
        charge = data_charge("10", "2.00", datetime(2026, 7, 5, tzinfo=UTC))
        await istore.store_session(conn, session(account, "c2", [charge]), "y", now())
    await billing_run(service.engine, CATALOG, date(2026, 8, 1), now=now)
    async with service.engine.connect() as conn:
        rows = await istore.list_invoices(conn)
    assert [(r["total"], r["credit_in"], r["credit_forward"]) for r in rows][1] == ("11.50", "11.50", "0.00")


async def test_a_ledger_charge_is_billed_once(service: Service) -> None:
    account = await _account(service, "led", "Fibre 300", "2026-06-01")
    await service.charge(OPERATOR, account, "10.00", description="Router", entry_date=date(2026, 6, 1))
    report = await billing_run(service.engine, CATALOG, date(2026, 6, 1), now=now)
    assert [c["total"] for c in report.created] == ["194.35"]  # (60.00 + 99.00 + 10.00) x 1.15
    async with service.engine.connect() as conn:
        lines = (await conn.execute(select(invoices.c.document))).scalar_one()["lines"]
    assert [x["description"] for x in lines] == [
        "Fibre 300, 01 Jun – 30 Jun 2026", "Installation (activation 01 Jun 2026)", "Router (01 Jun 2026)"]
    report = await billing_run(service.engine, CATALOG, date(2026, 7, 1), now=now)
    assert [c["total"] for c in report.created] == ["69.00"]  # the router is not billed twice


async def test_numbers_are_gapless_per_realm(service: Service) -> None:
    for i in range(5):
        await _account(service, f"n{i}", "Fibre 300", "2026-06-01")
    await service.create_realm(OPERATOR, "isp2", currency="NZD", tax_name="GST", tax_rate="0.15")
    await service.create_account(OPERATOR, NewAccount("x", realm="isp2", plan="Fibre 300",
                                                      plan_start=day("2026-06-01")))
    report = await billing_run(service.engine, CATALOG, date(2026, 6, 1), now=now)
    numbers = sorted(c["number"] for c in report.created)
    assert numbers == [f"INV-default-2026-{i:06}" for i in range(1, 6)] + ["INV-isp2-2026-000001"]


async def test_s8_the_realm_owners_wholesale_invoice(service: Service) -> None:
    catalog = load_catalog([PRICEBOOK, PRICEBOOK.parent / "pricebook.visp.example.toml"])
    owner = await _account(service, "visp-owner", "VISP Wholesale", "2026-06-01")
    await service.create_realm(OPERATOR, "visp.example", currency="NZD", tax_name="GST", tax_rate="0.15",
                               owner_account_id=owner)
    june = datetime(2026, 6, 12, tzinfo=UTC)
    for name, gb in (("alice", "10"), ("bob", "20"), ("carol", "30")):
        spec = NewAccount(name, realm="visp.example", plan="VISP Home 50", plan_start=day("2026-06-01"))
        user = await service.create_account(OPERATOR, spec)
        async with service.engine.begin() as conn:
            await istore.store_session(conn, session(user.id, f"{name}-1", [data_charge(gb, "0.00", june)],
                                                     realm="visp.example", user=name), "x", now())
    report = await billing_run(service.engine, catalog, date(2026, 7, 1), now=now, account_ids=[owner])
    assert [(c["period_start"], c["total"]) for c in report.created] == [
        ("2026-06-01", "17.25"), ("2026-07-01", "51.75")]  # June's subscribers; July's + June's usage
    async with service.engine.connect() as conn:
        _, inv, _ = await istore.get_invoice(conn, report.created[1]["number"]) or (None, None, None)
    assert inv is not None
    assert [(line.description.split(",")[0], line.amount) for line in inv.lines] == [
        ("Active subscribers", Decimal("15.00")), ("Data", Decimal("30.00"))]
    assert (inv.totals.subtotal, inv.totals.tax, inv.totals.total) == (
        Decimal("45.00"), Decimal("6.75"), Decimal("51.75"))


async def test_two_invoicers_at_once_bill_each_period_once(service: Service, database_url: str) -> None:
    for i in range(12):
        await _account(service, f"c{i}", "Fibre 300", "2026-06-16")
    other = make_engine(database_url)  # a second invoicer: its own connections
    try:
        a, b = await asyncio.gather(billing_run(service.engine, CATALOG, date(2026, 7, 1), now=now),
                                    billing_run(other, CATALOG, date(2026, 7, 1), now=now))
    finally:
        await other.dispose()
    assert len(a.created) + len(b.created) == 24 and not a.errors and not b.errors
    rows = await _invoices(service)
    assert len({(r["account_id"], r["period_start"]) for r in rows}) == 24
    assert sorted(str(r["number"]) for r in rows) == [f"INV-default-2026-{n:06}" for n in range(1, 25)]


async def test_an_account_that_cannot_be_billed_holds_up_no_other(service: Service) -> None:
    """Batches of two, two periods each: b2's June cannot be billed (a ledger charge in another
    currency, as after a realm changed its currency), so b2 gets no invoice at all; the others get
    both, numbered without gaps."""
    ids = [await _account(service, f"b{i}", "Fibre 300", "2026-06-16") for i in range(5)]
    entry = await service.charge(OPERATOR, ids[2], "10.00", description="Router",
                                 entry_date=date(2026, 6, 20))
    async with service.engine.begin() as conn:
        await conn.execute(update(ledger).where(ledger.c.id == entry.id).values(currency="USD"))
    pairs = RunOptions(batch=2)
    report = await billing_run(service.engine, CATALOG, date(2026, 7, 1), now=now, options=pairs)
    assert len(report.errors) == 1 and report.errors[0].startswith("default/b2: ")
    rows = await _invoices(service)
    assert sorted((r["username"], r["period_start"]) for r in rows) == [
        (f"b{i}", start) for i in (0, 1, 3, 4) for start in ("2026-06-01", "2026-07-01")]
    assert sorted(str(r["number"]) for r in rows) == [f"INV-default-2026-{n:06}" for n in range(1, 9)]
    again = await billing_run(service.engine, CATALOG, date(2026, 7, 1), now=now, options=pairs)
    assert again.created == [] and len(again.errors) == 1
