"""Provisioning bench: create 100,000 accounts through the service layer, load the
account cache, look accounts up by username as the RADIUS path does.

    .venv/bin/python bench/provisioning/run.py                      # SQLite in a temp dir
    .venv/bin/python bench/provisioning/run.py --database postgresql+asyncpg://postgres@127.0.0.1/jetbench

Prints creates/s, cache load time, lookups/s and the cache's memory (tracemalloc).
Passwords are hashed with scrypt at a reduced cost (--scrypt-n, default 2) so the
figure measures the store, not the KDF; the production cost per password is measured
and printed beside it. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from provisioning.cache import AccountCache
from provisioning.credentials import SCRYPT_N, hash_password
from provisioning.db import make_engine
from provisioning.models import OPERATOR, NewAccount
from provisioning.service import Service


def fixed_clock() -> datetime:
    return datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


async def bench(url: str, accounts: int, batch: int, lookups: int, scrypt_n: int) -> None:
    service = Service(make_engine(url), clock=fixed_clock, plan_exists=lambda realm, plan: True,
                      scrypt_n=scrypt_n)
    await service.start()
    print(f"database       {url.split('@')[-1]}")
    print(f"machine        {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start "
          "(other work on the box slows every figure)")

    t0 = time.perf_counter()
    for start in range(0, accounts, batch):
        specs = [NewAccount(f"user{i:06d}", password=f"pw-{i}", plan="Home 100", simultaneous_use=1,
                            email=f"user{i}@example.net")
                 for i in range(start, min(start + batch, accounts))]
        await service.create_accounts(OPERATOR, specs)
    created = time.perf_counter() - t0
    print(f"create         {accounts} accounts in {created:.1f} s = {accounts / created:,.0f} creates/s "
          f"(batches of {batch}, one transaction each, scrypt N={scrypt_n})")
    samples = 5
    t0 = time.perf_counter()
    for _ in range(samples):
        hash_password("a password")
    per_hash = (time.perf_counter() - t0) / samples
    print(f"               production scrypt N={SCRYPT_N}: {per_hash * 1000:.0f} ms per password, so "
          f"creating with real hashing is bounded by ~{1 / per_hash:,.0f} creates/s per core")

    cache = AccountCache(service)
    t0, c0 = time.perf_counter(), time.process_time()
    await cache.load()
    loaded, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"cache load     {len(cache)} accounts in {loaded:.2f} s ({cpu:.2f} s of this process's CPU)")

    del cache
    gc.collect()
    tracemalloc.start()
    cache = AccountCache(service)
    await cache.load()
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"cache memory   {current / 2**20:.1f} MB held ({current / len(cache):.0f} B per account), "
          f"peak while loading {peak / 2**20:.1f} MB")

    rng = random.Random(7)
    names = [f"user{rng.randrange(accounts):06d}" for _ in range(lookups)]
    get = cache.get
    t0, c0 = time.perf_counter(), time.process_time()
    found = 0
    for name in names:
        if get("default", name) is not None:
            found += 1
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert found == lookups
    print(f"lookups        {lookups:,} by username in {took:.2f} s = {lookups / took:,.0f} lookups/s "
          f"({lookups / cpu:,.0f} per CPU-second: the figure without other processes' share)")

    t0 = time.perf_counter()
    for i in range(0, 1000):
        account = await service.find_account(OPERATOR, "default", f"user{i:06d}")
        await service.suspend(OPERATOR, account.id)
    changed = time.perf_counter() - t0
    t0 = time.perf_counter()
    applied = await cache.refresh()
    refreshed = time.perf_counter() - t0
    record = cache.get("default", "user000999")
    assert record is not None and record.status == "suspended"
    print(f"changes        1000 suspends in {changed:.2f} s; cache applied {applied} outbox events in "
          f"{refreshed * 1000:.0f} ms")
    print(f"               load average {os.getloadavg()[0]:.1f} at the end")
    await service.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="SQLAlchemy URL (default: SQLite in a temporary folder)")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--lookups", type=int, default=2_000_000)
    parser.add_argument("--scrypt-n", type=int, default=2, help="scrypt cost for the bench's passwords")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite+aiosqlite:///{tmp}/bench.db"
        asyncio.run(bench(url, args.accounts, args.batch, args.lookups, args.scrypt_n))


if __name__ == "__main__":
    main()
