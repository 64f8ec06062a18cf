"""Benchmark: concurrent accounting applies against a private redis-server.

    .venv/bin/python bench/quota/run.py [--sessions 10000] [--accounts 1000] [--interims 3]
                                         [--inflight 512] [--mode both|direct|batch]

Each session is Start, N Interim-Updates and Stop, applied with ``QuotaStore.apply_record``
(read when not cached + guarded apply; Stop adds the stream XADD and its acknowledgement).
Records go out in rounds (every session's Start, then every session's first interim, ...),
sessions shuffled within a round, with ``--inflight`` records in flight. Prints records/s, p50/p99 of
one ``apply_record``, Redis commands and round trips per record, with and without the
batcher. Not a test: nothing asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from quota.connect import connect
from quota.model import AccountingRecord, Charge, Kind, Rated, RatingInput
from quota.store import QuotaStore

GB = 10**9
T0 = 1_780_000_000


def rate(inp: RatingInput) -> Rated:
    """S2's bands, cumulative over the period (a stand-in for the pure engine)."""
    used = inp.delta.get("in", 0) + inp.delta.get("out", 0)
    if not used:
        return Rated()
    before = int(inp.snapshot.counters.get("data", 0))

    def cumulative(octets: int) -> Decimal:
        a = min(octets, 10 * GB)
        b = min(max(octets - 10 * GB, 0), 40 * GB)
        c = max(octets - 50 * GB, 0)
        total = (Decimal(a) * 2 + Decimal(b) * Decimal("1.5") + Decimal(c)) / GB
        return total.quantize(Decimal("0.000001"), ROUND_HALF_UP)

    amount = cumulative(before + used) - cumulative(before)
    return Rated(charges=(Charge(amount, detail={"octets": used}),), increments={"data": used})


@contextmanager
def redis_server() -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    workdir = tempfile.mkdtemp(prefix="jet-bench-quota-")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", workdir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


async def run(url: str, batch: bool, args: argparse.Namespace, tag: str) -> None:
    client = connect(url, max_connections=args.inflight + 16)
    store = QuotaStore(client, batch=batch)
    await store.load_functions()
    accounts = [f"{tag}-{n}" for n in range(args.accounts)]
    await asyncio.gather(*(store.put_account(a, period="2026-06") for a in accounts))
    latencies: list[float] = []
    conflicts = 0
    kinds = [Kind.START] + [Kind.INTERIM] * args.interims + [Kind.STOP]
    queue: asyncio.Queue[AccountingRecord] = asyncio.Queue()
    rng = random.Random(1)
    for i, kind in enumerate(kinds):  # rounds: every session's i-th record, sessions shuffled
        octets = i * 50_000_000
        for n in rng.sample(range(args.sessions), args.sessions):
            queue.put_nowait(AccountingRecord(
                account=accounts[n % args.accounts], nas="bench-nas", session_id=f"s{n}", kind=kind,
                now=T0 + i * 300, counters={"in": octets // 4, "out": octets}, user=f"u{n}"))

    async def worker() -> None:
        nonlocal conflicts
        while not queue.empty():
            rec = queue.get_nowait()
            t = time.perf_counter()
            result = await store.apply_record(rec, rate)
            latencies.append(time.perf_counter() - t)
            conflicts += result.attempts - 1

    calls0, trips0 = store.calls.calls, store.calls.round_trips
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.inflight)))
    elapsed = time.perf_counter() - started
    records = len(latencies)
    latencies.sort()
    calls = store.calls.calls - calls0
    trips = store.calls.round_trips - trips0
    print(f"{'batched' if batch else 'direct ':8} records {records:6d}  {records / elapsed:8.0f} records/s  "
          f"p50 {latencies[records // 2] * 1e3:6.2f} ms  p99 {latencies[int(records * 0.99)] * 1e3:6.2f} ms  "
          f"redis commands/record {calls / records:4.2f}  round trips/record {trips / records:5.3f}  "
          f"conflict retries {conflicts}")
    await client.aclose()


async def calibrate(url: str, n: int = 5000) -> None:
    """How fast redis-py itself is on this machine right now (DESIGN.md: ~11k/s one at a time,
    ~83-106k/s in pipelines of 100, on an idle machine of this kind)."""
    client = connect(url)
    started = time.perf_counter()
    for _ in range(n // 5):
        await client.execute_command("PING")
    one = (n // 5) / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(n // 100):
        pipe = client.pipeline(transaction=False)
        for _ in range(100):
            pipe.execute_command("PING")
        await pipe.execute()
    piped = n / (time.perf_counter() - started)
    print(f"calibration: redis-py PING one at a time {one:8.0f}/s, in pipelines of 100 {piped:8.0f}/s")
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--interims", type=int, default=3)
    parser.add_argument("--inflight", type=int, default=512)
    parser.add_argument("--mode", choices=["both", "direct", "batch"], default="both")
    parser.add_argument("--url", help="use this Redis instead of starting a private one (never production)")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(f"quota bench: {args.sessions} sessions over {args.accounts} accounts, Start + {args.interims} "
          f"interims + Stop each, {args.inflight} in flight, pid {os.getpid()}")
    modes = {"both": [False, True], "direct": [False], "batch": [True]}[args.mode]

    def go(url: str) -> None:
        asyncio.run(calibrate(url))
        for batch in modes:
            asyncio.run(run(url, batch, args, f"b{int(batch)}{time.monotonic_ns()}"))

    if args.url:
        go(args.url)
    else:
        with redis_server() as port:
            go(f"redis://127.0.0.1:{port}/0")


if __name__ == "__main__":
    main()
