"""Billing-run benchmark: N accounts with M rated sessions each, one billing run with
every PDF rendered (process pool) and written to the print outbox.

    .venv/bin/python bench/invoicing/run.py --accounts 2000 --sessions 30 \\
        --database postgresql+asyncpg://postgres@127.0.0.1:5432/jet_bench

The database must be empty (it is migrated here). Prints setup time, then for the run
and for delivery: invoices, seconds, invoices/s; and peak RSS of this process and of the
render processes. The issue's target: 100,000 accounts with 3,000,000 sessions in under
15 minutes and 1 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert

from invoicing.delivery import Deliverer, PrintOutbox
from invoicing.mailer import Mailer, SmtpConfig
from invoicing.run import billing_run
from invoicing.tables import rated_charges, rated_sessions
from invoicing.worker import DeliveryWorker
from provisioning.db import make_engine
from provisioning.models import OPERATOR, NewAccount
from provisioning.service import Service
from rating import Charge, load_catalog
from rating.explain import charge_to_dict

PRICEBOOK = Path(__file__).parents[2] / "config" / "pricebook.example.toml"


def now() -> datetime:
    return datetime(2026, 7, 1, 2, tzinfo=UTC)


def _charge(at: datetime, gb: Decimal) -> dict[str, object]:
    c = Charge(meter="data", kind="usage", quantity=gb * 10**9, billed=gb * 10**9, units=gb, unit="GB",
               rate=Decimal("1.50"), amount=gb * Decimal("1.50"), currency="NZD", start=at, end=at, band="2")
    return charge_to_dict(c)


async def setup(url: str, accounts: int, sessions: int) -> Service:
    service = Service(make_engine(url), clock=now)
    await service.start()
    await service.update_realm(OPERATOR, "default", currency="NZD", tax_name="GST", tax_rate="0.15",
                               email_delivery=False)
    for first in range(0, accounts, 1000):
        await service.create_accounts(OPERATOR, [
            NewAccount(f"b{i}", plan="Business Metered" if i % 2 else "Fibre 300",
                       plan_start=date(2026, 6, 1))
            for i in range(first, min(accounts, first + 1000))])
    start = datetime(2026, 6, 2, tzinfo=UTC)
    ids = list(range(1, accounts + 1))
    for chunk in range(0, accounts, 200):
        srows, crows = [], []
        async with service.engine.begin() as conn:
            for account in ids[chunk:chunk + 200]:
                for s in range(sessions):
                    at = start + timedelta(minutes=37 * s + account % 60)
                    srows.append({"account_id": account, "session_key": f"k{s}", "realm": "default",
                                  "username": f"b{account - 1}", "session_id": f"s{s}", "nas": "10.0.0.1",
                                  "start_at": at, "stop_at": at + timedelta(minutes=30),
                                  "cause": "User-Request",
                                  "counters": {"data": 1}, "stream_id": "bench", "received_at": now()})
            await conn.execute(insert(rated_sessions), srows)
            first_id = (await conn.exec_driver_sql("SELECT max(id) FROM rated_sessions")).scalar_one() \
                - len(srows) + 1
            for n, row in enumerate(srows):
                at = row["start_at"]
                crows.append({"session_row": first_id + n, "account_id": row["account_id"],
                              "realm": "default",
                              "at": at, "meter": "data", "due": Decimal("0.75"), "currency": "NZD",
                              "detail": _charge(at, Decimal("0.5"))})  # type: ignore[arg-type]
            await conn.execute(insert(rated_charges), crows)
    return service


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--database", default=f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db")
    ap.add_argument("--render-processes", type=int, default=2)
    args = ap.parse_args()
    catalog = load_catalog([PRICEBOOK])
    t0 = time.perf_counter()
    service = await setup(args.database, args.accounts, args.sessions)
    print(f"setup: {args.accounts} accounts, {args.accounts * args.sessions} sessions "
          f"in {time.perf_counter() - t0:.1f} s")
    t1 = time.perf_counter()
    report = await billing_run(service.engine, catalog, date(2026, 7, 1), now=now)
    run_s = time.perf_counter() - t1
    made = len(report.created)
    print(f"billing run: {made} invoices in {run_s:.1f} s = {made / run_s:.0f} invoices/s "
          f"({len(report.errors)} errors)")
    outbox = Path(tempfile.mkdtemp())
    pool = ProcessPoolExecutor(args.render_processes, mp_context=multiprocessing.get_context("forkserver"))
    worker = DeliveryWorker(service.engine, Deliverer(Mailer(SmtpConfig()), PrintOutbox(outbox)), pool, now,
                            batch=100)
    t2 = time.perf_counter()
    delivered = 0
    while n := await worker.deliver_due():
        delivered += n
    pdf_s = time.perf_counter() - t2
    pool.shutdown()
    print(f"render + write PDFs: {delivered} in {pdf_s:.1f} s = {delivered / pdf_s:.0f} PDFs/s "
          f"({args.render_processes} render processes) -> {outbox}")
    total = run_s + pdf_s
    print(f"total (run + PDFs): {total:.1f} s for {args.accounts} accounts ({made} invoices); projected "
          f"for 100,000 accounts: {total / args.accounts * 100_000 / 60:.1f} min (target: 15)")
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS: invoicer {me:.0f} MB, largest render process {kids:.0f} MB")
    await service.close()


if __name__ == "__main__":
    asyncio.run(main())
