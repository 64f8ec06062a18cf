"""Benchmark: render N invoices (20 lines, daily usage chart, logo) to PDF.

    .venv/bin/python bench/invoice_pdf/run.py [--count 2000] [--lines 20] [--workers 1] [--profile]

Prints PDFs/s, ms per PDF, average size and peak memory (max RSS), and a breakdown of
where the time goes (the same invoice without the chart, without the logo). The
issue's target is 100,000 invoices in under 15 minutes for the whole billing run,
i.e. > 111 invoices/s end to end. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from invoicing.model import (  # noqa: E402
    Branding,
    Buyer,
    Invoice,
    InvoiceLine,
    Seller,
    Tax,
    UsagePoint,
    UsageSeries,
)
from invoicing.pdf import render_invoice  # noqa: E402

LOGO = ROOT / "config" / "branding" / "sample-logo.png"
GROUPS = ("Recurring", "One-off", "Data — web, peak", "Data — web, off-peak", "Calls — national",
          "Calls — NZ mobile", "Energy import", "Energy export credit")  # fmt: skip


def make_invoice(n: int, lines: int, logo: str | None) -> Invoice:
    start = date(2026, 6, 1)
    seller = Seller(
        "Ōtautahi Fibre Ltd", ("12 Tūranga Lane", "Christchurch 8011"), "GST 123-456-789",
        "accounts@otautahi.example", "+64 3 555 0100", "otautahi.example",
        Branding(logo, "#0B4F6C", "#E3F2F7", None, "Ōtautahi Fibre Ltd · accounts@otautahi.example"),
    )  # fmt: skip
    address = (f"{n} Kōwhai Street", "Lyttelton")
    buyer = Buyer(f"Customer {n} Pōtae", f"user{n}", f"user{n}@example.net", address)
    items = tuple(
        InvoiceLine(f"{GROUPS[i % len(GROUPS)]} item {i} for account {n}", Decimal(f"{(n + i) % 97}.{i:02d}"),
                    group=GROUPS[i % len(GROUPS)], quantity=Decimal(i + 1), unit="GB",
                    unit_price=Decimal("0.50"))
        for i in range(lines)
    )  # fmt: skip
    usage = UsageSeries("GB", tuple(
        _point(start + timedelta(d), Decimal((n * 7 + d * 13) % 50) / 10) for d in range(30)
    ))  # fmt: skip
    return Invoice(
        f"INV-default-2026-{n:06d}", "default", "NZD", date(2026, 6, 30), date(2026, 7, 20), start,
        date(2026, 6, 30), seller, buyer, items, Tax("GST", Decimal("0.15")), usage=usage,
        payment_instructions="Pay by bank transfer to 12-3456-7890123-00.",
    )  # fmt: skip


def _point(day: date, q: Decimal) -> UsagePoint:
    return UsagePoint(day, q)


def render_range(args: tuple[int, int, int, str | None]) -> tuple[int, int]:
    first, count, lines, logo = args
    size = 0
    for n in range(first, first + count):
        size += len(render_invoice(make_invoice(n, lines, logo)))
    return count, size


def timed(count: int, lines: int, logo: str | None, variant: str = "") -> float:
    """CPU ms per render of one invoice."""
    base = make_invoice(0, lines, logo)
    inv = replace(base, usage=None) if variant == "no chart" else base
    render_invoice(inv)
    t = time.process_time()
    for _ in range(count):
        render_invoice(inv)
    return (time.process_time() - t) / count * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--lines", type=int, default=20)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-logo", action="store_true")
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()
    logo = None if a.no_logo else str(LOGO)
    render_range((0, 3, a.lines, logo))  # warm: font registration, logo decode

    t0, c0 = time.perf_counter(), time.process_time()
    if a.workers == 1:
        if a.profile:
            prof = cProfile.Profile()
            prof.enable()
        done, size = render_range((0, a.count, a.lines, logo))
        if a.profile:
            prof.disable()
    else:
        chunk = -(-a.count // a.workers)
        jobs = [(i * chunk, min(chunk, a.count - i * chunk), a.lines, logo) for i in range(a.workers)]
        with ProcessPoolExecutor(a.workers) as pool:
            results = list(pool.map(render_range, jobs))
        done, size = sum(r[0] for r in results), sum(r[1] for r in results)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    accel = "C (rl-accel)" if "_rl_accel" in sys.modules else "pure Python (install rl-accel for ~20% more)"
    print(f"invoices: {done} x {a.lines} lines + 30-day chart, logo: {bool(logo)}, workers: {a.workers}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (wall figures suffer when "
          f"busy); reportlab accelerator: {accel}")  # fmt: skip
    print(f"elapsed: {elapsed:.2f} s   PDFs/s: {done / elapsed:.1f}   "
          f"ms/PDF (wall): {elapsed / done * 1000:.2f}")  # fmt: skip
    if a.workers == 1:  # CPU time is the fairer figure on a busy machine
        print(f"CPU: {cpu:.2f} s   ms/PDF (CPU): {cpu / done * 1000:.2f}   PDFs/s per core: {done / cpu:.1f}")
    print(f"average PDF size: {size / done / 1024:.1f} KiB")
    print(f"peak memory (max RSS): main {rss_mb:.0f} MiB" + (f", largest worker {child_mb:.0f} MiB"
                                                              if a.workers > 1 else ""))  # fmt: skip
    print(f"100,000 invoices at this rate: {100_000 / (done / elapsed) / 60:.1f} min (PDF rendering only)")
    if a.workers == 1:
        one_core_s = 100_000 / (done / cpu)
        print(f"100,000 invoices at the CPU rate: {one_core_s / 60:.1f} min on one core; "
              f"cores for the rendering alone to fit in 15 min: {one_core_s / 900:.1f}")  # fmt: skip
    n = max(20, min(200, a.count // 10))
    full, no_chart = timed(n, a.lines, logo), timed(n, a.lines, logo, "no chart")
    no_logo = timed(n, a.lines, None)
    print(f"breakdown (CPU ms/PDF over {n}): full {full:.2f}; chart ~{full - no_chart:.2f}; "
          f"logo ~{full - no_logo:.2f}; rest {no_chart - (full - no_logo):.2f}")
    if a.workers == 1 and a.profile:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(20)
        print(out.getvalue())


if __name__ == "__main__":
    main()
