"""Diameter codec benchmark: decode/encode a typical Gy CCR-Update (two rating groups, PS-Information).

    .venv/bin/python bench/diameter_codec/run.py [--seconds 2] [--compare]

Prints decodes/s and encodes/s (and µs each) for:
  decode           bytes -> Message (header, every top-level AVP, structure of known Grouped AVPs)
  decode+read      decode, then read_ccr(): every value the credit-control handler reads
  decode+check     decode, then the server's request checks (M bits, required AVPs, enumerations)
  encode           Message -> bytes
  encode CCA       build a two-rating-group CCA from the request and encode it
  CCR-U in, CCA out  the codec work of one request on the server: decode, check, read, build, encode
--compare also times python-diameter's Message.from_bytes on the same bytes (the independent peer).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from samples import ccr_update

from protocols.diameter.base import LocalNode
from protocols.diameter.codec import decode_message, encode_message
from protocols.diameter.constants import ResultCode
from protocols.diameter.credit_control import ServiceGrant, ServiceUnits, build_cca, read_ccr
from protocols.diameter.validation import check_request

NODE = LocalNode("jet.example.net", "example.net")


def measure(fn: Callable[[], object], seconds: float) -> tuple[float, float]:
    """(operations per CPU-second, CPU-µs per operation), best of 3 runs.

    CPU time (process_time), not wall time: on a shared 2-core box other processes' load would
    otherwise be counted as ours."""
    n = 1
    while True:  # calibrate to ~seconds/3 per run
        t0 = time.process_time()
        for _ in range(n):
            fn()
        dt = time.process_time() - t0
        if dt > seconds / 30 and n >= 8:
            break
        n *= 2
    runs = []
    per_run = max(1, int(n * (seconds / 3) / dt))
    for _ in range(3):
        t0 = time.process_time()
        for _ in range(per_run):
            fn()
        runs.append((time.process_time() - t0) / per_run)
    best = min(runs)
    return 1 / best, best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--compare", action="store_true", help="also time python-diameter")
    args = parser.parse_args()

    msg = ccr_update()
    raw = encode_message(msg)
    assert decode_message(raw) == msg
    apps = frozenset({4})

    def decode_read() -> object:
        return read_ccr(decode_message(raw))

    def decode_check() -> None:
        check_request(decode_message(raw), apps)

    def server_path() -> bytes:
        request = decode_message(raw)
        check_request(request, apps)
        ccr = read_ccr(request)
        grants = [ServiceGrant(s.rating_group, ResultCode.DIAMETER_SUCCESS,
                               ServiceUnits(total_octets=1_000_000), validity_time=600) for s in ccr.services]
        return encode_message(build_cca(NODE, request, ResultCode.DIAMETER_SUCCESS, grants))

    def encode_cca() -> bytes:
        grants = [ServiceGrant(rg, ResultCode.DIAMETER_SUCCESS, ServiceUnits(total_octets=1_000_000),
                               validity_time=600) for rg in (10, 20)]
        return encode_message(build_cca(NODE, msg, ResultCode.DIAMETER_SUCCESS, grants))

    cases: list[tuple[str, Callable[[], object]]] = [
        ("decode", lambda: decode_message(raw)),
        ("decode+read", decode_read),
        ("decode+check", decode_check),
        ("encode", lambda: encode_message(msg)),
        ("encode CCA", encode_cca),
        ("CCR-U in, CCA out", server_path),
    ]
    if args.compare:
        from diameter.message import Message as PdMessage

        cases.append(("python-diameter decode", lambda: PdMessage.from_bytes(raw)))

    print(f"CCR-Update: {len(raw)} bytes, {len(msg.avps)} top-level AVPs, Python {sys.version.split()[0]}")
    # A yardstick for comparing figures across machines and load: ~8-10 µs on an idle modern core.
    _, yard = measure(lambda: sum(range(1000)), args.seconds / 2)
    print(f"  calibration: sum(range(1000)) takes {yard:.1f} µs CPU here")
    for name, fn in cases:
        rate, micros = measure(fn, args.seconds)
        unit = "decodes/s" if "decode" in name else "encodes/s" if "encode" in name else "requests/s"
        print(f"  {name:24s} {rate:10,.0f} {unit}   {micros:7.1f} µs")


if __name__ == "__main__":
    main()
