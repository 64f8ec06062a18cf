"""Rating benchmark: 1,000,000 synthetic records on one core.

A mix of data (bands, peak/off-peak windows, data classes, a volume bundle), voice
against a generated 100,000-prefix destination table (longest prefix, A/B local rule,
per-zone increments and connection fees, a money bundle) and energy import/export.
Prints records/s, peak memory and the 100,000-prefix table's load time.

    .venv/bin/python bench/rating/run.py [--records N] [--accounts N]
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rating import Usage, load_catalog, rate

BOOK = """
currency = "NZD"
timezone = "Pacific/Auckland"

[calendars.peak]
default = "offpeak"
holidays = [2026-06-01]
[[calendars.peak.windows]]
name = "peak"
days = "mon-fri"
from = "08:00"
to = "20:00"
[[calendars.peak.windows]]
name = "shoulder"
days = "sat-sun"
from = "10:00"
to = "16:00"

[tables.world]
csv = "prefixes.csv"
areas = ["643", "644", "646", "647", "649"]
local_zone = "local"

[plans.Data]
calendar = "peak"
[plans.Data.data]
unit = "GB"
classes = { attribute = "Class", default = "web", values = { web = ["web"], p2p = ["p2p"] } }
[[plans.Data.data.rates]]
class = "p2p"
window = "peak"
price = "0.20"
[[plans.Data.data.rates]]
window = "peak"
bands = [{ upto = "10 GB", price = "2.00" }, { upto = "50 GB", price = "1.50" }, { price = "1.00" }]
[[plans.Data.data.rates]]
price = "0.05"
[[plans.Data.bundles]]
name = "data"
kind = "volume"
size = "20 GB"
thresholds = [{ percent = 80 }]

[plans.Voice]
calendar = "peak"
[plans.Voice.voice]
table = "world"
increments = "60/60"
{rates}
[[plans.Voice.bundles]]
name = "calls"
kind = "money"
size = "250.00"
meters = ["voice"]
thresholds = [{ percent = 80 }]

[plans.Solar]
[plans.Solar.energy_import]
price = "0.28"
[plans.Solar.energy_export]
price = "0.08"
"""

ZONES = ["local", "national", "mobile", "z1", "z2", "z3", "z4", "z5", "z6", "z7"]


def write_book(folder: Path, prefixes: int, rng: random.Random) -> Path:
    rows = ["prefix,zone", "64,national", "642,mobile"]
    seen = {"64", "642"}
    while len(seen) < prefixes:
        p = str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(rng.randint(2, 6)))
        if p.startswith("64") or p in seen:
            continue
        seen.add(p)
        rows.append(f"{p},{ZONES[3 + len(seen) % 7]}")
    (folder / "prefixes.csv").write_text("\n".join(rows) + "\n")
    rates = []
    for i, zone in enumerate(ZONES):
        extra = 'increments = "30/6"\n' if zone == "mobile" else ""
        extra += 'connection = "0.10"\n' if zone.startswith("z") else ""
        rates.append(f'[[plans.Voice.voice.rates]]\nzone = "{zone}"\nprice = "0.{i:02d}"\n{extra}')
    path = folder / "bench.toml"
    path.write_text(BOOK.replace("{rates}", "\n".join(rates)))
    return path


def records(rng: random.Random, prefixes: list[str], n: int) -> list[tuple[int, str, Usage]]:
    """A pool of (account, plan, usage): 55 % data, 35 % voice, 10 % energy."""
    base = datetime(2026, 6, 1, tzinfo=UTC)
    pool = []
    for _ in range(n):
        start = base + timedelta(seconds=rng.randint(0, 29 * 86400))
        pick = rng.random()
        account = rng.randint(0, 999)
        if pick < 0.55:
            secs = rng.choice([300, 900, 900, 3600])
            u = Usage(
                "data",
                start,
                start + timedelta(seconds=secs),
                octets_in=rng.randint(0, 10**8),
                octets_out=rng.randint(0, 10**9),
                attributes={"Class": rng.choice(["web", "web", "p2p"])},
            )
            pool.append((account, "Data", u))
        elif pick < 0.90:
            b = rng.choice(prefixes) + "".join(rng.choice("0123456789") for _ in range(6))
            if rng.random() < 0.2:
                b = "649" + "".join(rng.choice("0123456789") for _ in range(7))
            secs = rng.randint(0, 900)
            u = Usage("voice", start, start + timedelta(seconds=secs), a_number="6493001111", b_number=b)
            pool.append((account, "Voice", u))
        else:
            u = Usage(
                "energy",
                start,
                start + timedelta(hours=1),
                kwh_import=Decimal(rng.randint(0, 5000)) / 1000,
                kwh_export=Decimal(rng.randint(0, 3000)) / 1000,
            )
            pool.append((account, "Solar", u))
    return pool


def calibrate() -> float:
    """ns per Decimal multiply-divide now: a yardstick for how busy this machine is."""
    a, b, c = Decimal(12345678), Decimal(3600), Decimal(7200)
    t0 = time.process_time()
    for _ in range(1_000_000):
        a * b / c
    return (time.process_time() - t0) / 1_000_000 * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--prefixes", type=int, default=100_000)
    parser.add_argument("--pool", type=int, default=50_000, help="distinct synthetic records cycled through")
    args = parser.parse_args()
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_book(Path(tmp), args.prefixes, rng)
        t0, c0 = time.perf_counter(), time.process_time()
        catalog = load_catalog([path])
        load_s, load_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"pricebook: {catalog.summary()}; the {args.prefixes:,}-prefix table loaded and validated "
        f"in {load_s:.3f} s wall ({load_cpu:.3f} s CPU)"
    )
    plans = {name: catalog.find_plan("default", name) for name in ("Data", "Voice", "Solar")}
    table = plans["Voice"].terms[0].meters["voice"].table  # type: ignore[union-attr]
    prefixes = list(table.zones)  # type: ignore[union-attr]
    pool = records(rng, prefixes, args.pool)
    counters: list[dict[str, Decimal]] = [{} for _ in range(1000)]
    zero = Decimal(0)
    gc.collect()
    charges = 0
    n = args.records
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    for i in range(n):
        account, plan_name, usage = pool[i % len(pool)]
        before = counters[account]
        result = rate(usage, plans[plan_name], before)  # type: ignore[arg-type]
        for key, value in result.counters.items():
            before[key] = before.get(key, zero) + value
        charges += len(result.charges)
        if i % 200_000 == 199_999:
            for c in counters:  # a new billing period now and then, so bands and bundles keep moving
                c.clear()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    load1 = open("/proc/loadavg").read().split()[0] if Path("/proc/loadavg").exists() else "?"
    print(
        f"rated {n:,} records ({charges:,} charges) in {wall:.2f} s wall, {cpu:.2f} s CPU: "
        f"{n / wall:,.0f} records/s wall, {n / cpu:,.0f} records per CPU-second"
    )
    print(f"peak memory (max RSS): {peak_kib / 1024:.0f} MiB")
    for kind in ("Data", "Voice", "Solar"):  # where the time goes, per kind of record
        sub = [(plans[p], u) for _a, p, u in pool if p == kind][:20_000]
        c0 = time.process_time()
        for plan, usage in sub:
            rate(usage, plan, {})  # type: ignore[arg-type]
        each = (time.process_time() - c0) / len(sub) * 1e6
        print(f"  {kind.lower():<6} records: {each:5.1f} µs CPU each")
    print(
        f"machine: load average {load1}, a Decimal multiply-divide took {calibrate():.0f} ns "
        f"(CPU time; about 100 ns on an idle core)"
    )


if __name__ == "__main__":
    main()
