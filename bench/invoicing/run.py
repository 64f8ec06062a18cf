"""Billing-run benchmark: N accounts with M rated sessions each, one monthly billing run
with every PDF rendered (process pool) and written to the print outbox (``--email``: e-mailed
to a local SMTP sink, sink.py, instead), billing and delivery running at once as in
``jet-invoicer serve``.

    .venv/bin/python bench/invoicing/run.py --accounts 2000 --sessions 30 \\
        --database postgresql+asyncpg://postgres@127.0.0.1:5432/jet_bench

The database must be empty (it is migrated here). The accounts were billed for June
already (as by last month's run); the run on 2026-07-01 bills July's fees in advance and
June's usage: one invoice per account. Prints setup time, when the billing run finished,
when the last PDF was written, invoices/s, and peak RSS of this process and of the render
processes. The issue's target: 100,000 accounts with 3,000,000 sessions in under 15
minutes and 1 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, insert, select

from invoicing.billing_process import billing_run_apart, runs_apart
from invoicing.delivery import Deliverer, PrintOutbox
from invoicing.mailer import Mailer
from invoicing.run import billing_run
from invoicing.smtp import SmtpConfig
from invoicing.tables import billed_periods, deliveries, rated_charges, rated_sessions
from invoicing.worker import DeliveryWorker
from provisioning.db import make_engine
from provisioning.models import OPERATOR, NewAccount
from provisioning.service import Service
from rating import Charge, load_catalog
from rating.explain import charge_to_dict

PRICEBOOK = Path(__file__).parents[2] / "config" / "pricebook.example.toml"


def _peak_rss(pid: int) -> float:
    """VmHWM of a process, in MB (render processes are the forkserver's children, not ours)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def now() -> datetime:
    return datetime(2026, 7, 1, 2, tzinfo=UTC)


def _charge(at: datetime, gb: Decimal) -> dict[str, object]:
    c = Charge(meter="data", kind="usage", quantity=gb * 10**9, billed=gb * 10**9, units=gb, unit="GB",
               rate=Decimal("1.50"), amount=gb * Decimal("1.50"), currency="NZD", start=at, end=at, band="2")
    return charge_to_dict(c)


async def setup(url: str, accounts: int, sessions: int, email: bool) -> Service:
    service = Service(make_engine(url), clock=now)
    await service.start()
    await service.update_realm(OPERATOR, "default", currency="NZD", tax_name="GST", tax_rate="0.15",
                               email_delivery=email)
    for first in range(0, accounts, 1000):
        await service.create_accounts(OPERATOR, [
            NewAccount(f"b{i}", plan="Business Metered" if i % 2 else "Fibre 300",
                       plan_start=date(2026, 6, 1), email=f"b{i}@customers.example.net" if email else None)
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
            await conn.execute(insert(billed_periods), [  # June: billed by last month's run
                {"account_id": a, "period_start": date(2026, 6, 1), "invoice_id": None, "billed_at": now()}
                for a in ids[chunk:chunk + 200]])
    return service


def start_sink() -> tuple[subprocess.Popen[str], SmtpConfig]:
    """sink.py on a free port; the mailer pointed at it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = subprocess.Popen([sys.executable, str(Path(__file__).with_name("sink.py")), str(port)],
                            stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
    return sink, SmtpConfig(port=port, sender="billing@isp.example.net")


def _stop_sink(sink: subprocess.Popen[str]) -> str:
    sink.terminate()
    out, _ = sink.communicate(timeout=30)
    return out.strip().splitlines()[-1]


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--database", default=f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db")
    ap.add_argument("--render-processes", type=int, default=2)
    ap.add_argument("--billing-in-loop", action="store_true",
                    help="bill in the delivery's event loop (as on SQLite), not in a process of its own")
    ap.add_argument("--email", action="store_true",
                    help="e-mail every invoice to a local SMTP sink (sink.py) instead of the print outbox")
    args = ap.parse_args()
    catalog = load_catalog([PRICEBOOK])
    t0 = time.perf_counter()
    service = await setup(args.database, args.accounts, args.sessions, args.email)
    print(f"setup: {args.accounts} accounts, {args.accounts * args.sessions} sessions "
          f"in {time.perf_counter() - t0:.1f} s")
    outbox = Path(tempfile.mkdtemp())
    sink, smtp = start_sink() if args.email else (None, SmtpConfig())
    pool = ProcessPoolExecutor(args.render_processes, mp_context=multiprocessing.get_context("forkserver"))
    mailer = Mailer(smtp, keep=8)  # as jet-invoicer's
    worker = DeliveryWorker(service.engine, Deliverer(mailer, PrintOutbox(outbox)), pool, now, batch=100)
    billed = asyncio.Event()

    async def deliver() -> int:  # as the service's delivery loop, polling while the run goes on
        delivered = 0
        while True:
            n = await worker.deliver_all()
            delivered += n
            if not n:
                if billed.is_set():
                    return delivered
                await asyncio.sleep(0.2)

    t1, c1 = time.perf_counter(), time.process_time()
    delivery = asyncio.create_task(deliver())
    if args.billing_in_loop or not runs_apart(args.database):
        report = await billing_run(service.engine, catalog, date(2026, 7, 1), now=now)
    else:  # as jet-invoicer on PostgreSQL: in a process of its own
        report = await billing_run_apart(args.database, catalog, date(2026, 7, 1), now=now)
    billed.set()
    run_s = time.perf_counter() - t1
    async with service.engine.connect() as conn:
        sent = (await conn.execute(select(func.count()).select_from(deliveries)
                                   .where(deliveries.c.status == "delivered"))).scalar_one()  # fmt: skip
    made = len(report.created)
    print(f"billing run: {made} invoices in {run_s:.1f} s = {made / run_s:.0f} invoices/s "
          f"({len(report.errors)} errors; {sent} delivered meanwhile)")
    delivered = await delivery
    total = time.perf_counter() - t1
    render_peak = max((_peak_rss(pid) for pid in pool._processes), default=0)
    render_cpu = sum(_cpu_seconds(pid) for pid in pool._processes)
    main_cpu = time.process_time() - c1 + (report.cpu_seconds or 0)  # the billing process's too
    pool.shutdown()
    await mailer.close()
    where = f"e-mailed to the local sink ({_stop_sink(sink)})" if sink else f"-> {outbox}"
    print(f"last PDF written: {delivered} PDFs after {total:.1f} s = {delivered / total:.0f} invoices/s "
          f"end to end ({args.render_processes} render processes) {where}")
    print(f"CPU per invoice: invoicer {main_cpu / made * 1000:.1f} ms (billing, delivery), render processes "
          f"{render_cpu / max(delivered, 1) * 1000:.1f} ms")
    print(f"projected for 100,000 accounts: {total / args.accounts * 100_000 / 60:.1f} min (target: 15)")
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    billing = f", billing process {report.peak_rss_mb:.0f} MB" if report.peak_rss_mb else ""
    print(f"peak RSS: invoicer {me:.0f} MB{billing}, largest render process {render_peak:.0f} MB")
    await service.close()


if __name__ == "__main__":
    asyncio.run(main())
