"""Deterministic interleaved workloads for the concurrency tests (also run as a subprocess).

``python -m tests.quota.workload REDIS_URL ACCOUNT SEED WORKER WORKERS RATE`` applies
worker WORKER's share of the records and exits 0.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import Sequence

from quota.connect import connect
from quota.model import AccountingRecord, ApplyResult, Kind, RateFn
from quota.store import QuotaStore
from tests.quota.standin import GB, record, s1_rate, s2_rate

T0 = 1_780_000_000
RATES: dict[str, RateFn] = {"s1": s1_rate, "s2": s2_rate}


def sessions_records(account: str, seed: int, sizes_gb: Sequence[int]) -> list[AccountingRecord]:
    """Sessions of the given sizes, each as Start, random interims (some retransmitted), Stop."""
    rng = random.Random(seed)
    out: list[AccountingRecord] = []
    t = T0
    for n, size in enumerate(sizes_gb):
        sid = f"sess{n}"
        total = size * GB
        inbound = rng.randint(0, total)
        steps = rng.randint(4, 14)
        ins = sorted(rng.randint(0, inbound) for _ in range(steps))
        outs = sorted(rng.randint(0, total - inbound) for _ in range(steps))
        out.append(record(account, sid, Kind.START, t))
        for i, o in zip(ins, outs, strict=True):
            t += 60
            rec = record(account, sid, Kind.INTERIM, t, **{"in": i, "out": o})
            out.append(rec)
            if rng.random() < 0.2:
                out.append(rec)  # retransmission
        t += 60
        out.append(record(account, sid, Kind.STOP, t, **{"in": inbound, "out": total - inbound}))
    return out


def share(records: Sequence[AccountingRecord], worker: int, workers: int) -> list[AccountingRecord]:
    """Worker ``worker``'s records: a round-robin deal, so one session's interims interleave."""
    return [r for i, r in enumerate(records) if i % workers == worker]


async def apply_all(store: QuotaStore, records: Sequence[AccountingRecord], rate: RateFn
                    ) -> list[ApplyResult]:
    results = []
    for rec in records:
        results.append(await store.apply_record(rec, rate))
        await asyncio.sleep(0)
    return results


def rate_named(name: str) -> RateFn:
    if name == "s2-engine":
        from tests.quota.test_rating_bridge import engine, plan

        return engine(plan("Business Metered"))
    return RATES[name]


async def _main(url: str, account: str, seed: int, worker: int, workers: int, rate: str) -> None:
    client = connect(url)
    try:
        records = sessions_records(account, seed, (50, 40, 30) if rate == "s1" else (20, 25, 20))
        results = await apply_all(QuotaStore(client), share(records, worker, workers), rate_named(rate))
        for result in results:
            for name in result.fired:
                print(name)
    finally:
        await client.aclose()


if __name__ == "__main__":
    url, account, seed, worker, workers, rate = sys.argv[1:7]
    asyncio.run(_main(url, account, int(seed), int(worker), int(workers), rate))
