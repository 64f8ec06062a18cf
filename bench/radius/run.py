"""RADIUS benchmark: jetd, then FreeRADIUS 3.2, under the same load; prints the ratios.

    .venv/bin/python bench/radius/run.py [--duration 10] [--workers 2]
        [--only jetd|freeradius] [--kinds auth,acct] [--procs N] [--json FILE]

For each target and kind (PAP auth; accounting Interim-Update over 10,000 sessions of
1,000 accounts) the generator (loadgen.py) runs closed loop and reports requests/s and
latency; for accounting it then runs open loop at half that rate (issue 6: p99 there).
Targets (issues 5 and 6): jetd (workers=2) auth >= 0.6x and accounting >= 0.8x
FreeRADIUS's figure in the same run. Traffic goes only to 127.0.0.1; every process
started is stopped again, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__:  # imported as bench.radius.run
    from . import loadgen
    from .freeradius import FreeRadius
    from .jetd import DEFAULT_CATALOG, DEFAULT_PLAN, Jetd, NotServing
else:  # run as a script: bench/radius is sys.path[0], so `jetd` here is bench/radius/jetd.py
    import loadgen
    from freeradius import FreeRadius

    from jetd import DEFAULT_CATALOG, DEFAULT_PLAN, Jetd, NotServing

TARGET_RATIO = {"auth": 0.6, "acct": 0.8}
KIND_TITLE = {"auth": "PAP auth", "acct": "acct Interim"}


def redis_commandstats(port: int) -> dict[str, int]:
    """calls per command from INFO commandstats (a raw RESP exchange, no client library)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n")
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            head, _, rest = data.partition(b"\r\n")
            if head.startswith(b"$") and len(rest) >= int(head[1:]):
                break
    calls = {}
    for line in data.decode(errors="replace").splitlines():
        if line.startswith("cmdstat_") and ":" in line:
            name, _, fields = line[8:].partition(":")
            for item in fields.split(","):
                if item.startswith("calls="):
                    calls[name] = int(item[6:])
    return calls


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run_kind(args: argparse.Namespace, target: str, kind: str, port: int, secret: str, pids: list[int],
             redis_port: int | None = None) -> list[dict[str, Any]]:
    """Closed loop (+ open loop at half rate for the kinds asked); rows for the table."""
    row: dict[str, Any] = {"target": target, "kind": kind}
    code = loadgen.probe("127.0.0.1", port, secret, kind, 2.0)
    if code is None:
        row["error"] = f"no answer to a probe {'Access' if kind == 'auth' else 'Accounting'}-Request"
        return [row]
    cfg = loadgen.LoadConfig(kind=kind, port=port, secret=secret, duration=args.duration, warmup=args.warmup,
                             sockets=args.sockets, inflight=args.inflight, timeout=args.timeout,
                             users=args.users, sessions=args.sessions, accounts=args.accounts,
                             procs=args.procs, target_pids=pids)
    before = redis_commandstats(redis_port) if redis_port else None
    result = loadgen.run_load(cfg)
    if before is not None and redis_port:
        after = redis_commandstats(redis_port)
        delta = {k: v - before.get(k, 0) for k, v in after.items() if k != "info" and v != before.get(k, 0)}
        result["redis_calls"] = delta
        result["redis_calls_per_request"] = sum(delta.values()) / max(1, result["sent"])
    rows = [{**row, **result}]
    if kind in args.half_rate and result["rps"] > 0 and not math.isnan(result["p99_ms"]):
        half = loadgen.LoadConfig(**{**cfg.__dict__, "rate": result["rps"] / 2, "run_id": ""})
        half_result = loadgen.run_load(half)
        rows.append({**row, **half_result, "half_of": result["rps"]})
    return rows


def run_target(args: argparse.Namespace, target: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    began = time.monotonic()
    print(f"== {target}: starting", flush=True)
    try:
        if target == "jetd":
            server: Jetd | FreeRadius = Jetd(workers=args.workers, users=args.users, plan=args.plan,
                                             catalog=args.catalog, reuse_users=not args.fresh_users)
        else:
            server = FreeRadius(users=args.users)
        if args.priority is not None:
            server.on_spawn = lambda pid: warn_priority(loadgen.set_priority(pid, args.priority))
        with server:
            redis_port = server.redis.port if isinstance(server, Jetd) else None
            assert server.proc is not None
            print(f"== {target}: up in {time.monotonic() - began:.1f} s (auth 127.0.0.1:{server.auth_port}, "
                  f"acct 127.0.0.1:{server.acct_port}"
                  + (f", workers={args.workers}, users: {server.provisioned}" if target == "jetd" else "")
                  + ")", flush=True)
            for kind in args.kinds:
                port = server.auth_port if kind == "auth" else server.acct_port
                pids = [server.proc.pid]
                if isinstance(server, Jetd) and server.redis.proc:
                    pids.append(server.redis.proc.pid)  # jetd's Redis counts as the target's CPU
                for row in run_kind(args, target, kind, port, server.secret, pids, redis_port):
                    rows.append(row)
                    print(f"   {target}: " + (row["error"] if "error" in row else loadgen.format_result(row)),
                          flush=True)
    except NotServing as exc:
        print(f"{target}: {exc}" + (f"\n   ({exc.detail})" if exc.detail else ""), flush=True)
        rows += [{"target": target, "kind": kind, "error": str(exc)} for kind in args.kinds]
    except (RuntimeError, OSError) as exc:
        print(f"{target}: FAILED: {exc}", flush=True)
        rows += [{"target": target, "kind": kind, "error": f"failed: {exc}"} for kind in args.kinds]
    return rows


def cpu_speed() -> float:
    """A yardstick to compare boxes and moments: ns of CPU per MD5 of 64 bytes (Python)."""
    import hashlib

    data, n = b"x" * 64, 0
    began = time.process_time()
    while time.process_time() - began < 0.2:
        for _ in range(1000):
            hashlib.md5(data).digest()
        n += 1000
    return (time.process_time() - began) / n * 1e9


def warn_priority(why: str | None) -> None:
    if why:
        print(f"warning: {why}", flush=True)


def fmt(value: float, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def table(rows: list[dict[str, Any]]) -> str:
    header = (f"{'target':<11} {'kind':<13} {'mode':<20} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'p99.9 ms':>8} {'timeouts':>8}  notes")
    lines = [header, "-" * len(header)]
    for r in rows:
        title = KIND_TITLE[r["kind"]]
        if "error" in r:
            lines.append(f"{r['target']:<11} {title:<13} {r['error']}")
            continue
        mode = "closed loop" if "half_of" not in r else f"open {r['rps']:,.0f}/s (50%)"
        notes = []
        if r["kind"] == "auth":
            notes.append(f"accept {r['accepts']:,} reject {r['rejects']:,}")
        if "redis_calls_per_request" in r:
            # commandstats counts the commands a Redis function runs too: show the top ones
            sent = max(1, r["sent"])
            top = sorted(r["redis_calls"].items(), key=lambda kv: -kv[1])[:3]
            notes.append(f"redis commands/req {r['redis_calls_per_request']:.2f}"
                         + (" (" + ", ".join(f"{name} {calls / sent:.2f}" for name, calls in top) + ")"
                            if top else ""))
        if "cpu_cores" in r:
            c = r["cpu_cores"]
            notes.append(f"cores: target {c['target']:.2f} gen {c['generator']:.2f} others {c['others']:.2f}")
        notes += [f"!!! {p}" for p in r["problems"]]
        lines.append(f"{r['target']:<11} {title:<13} {mode:<20} {r['rps']:>9,.0f} {fmt(r['p50_ms']):>7} "
                     f"{fmt(r['p99_ms']):>7} {fmt(r['p999_ms']):>8} {r['timeouts']:>8}  {'; '.join(notes)}")
    return "\n".join(lines)


def ratios(rows: list[dict[str, Any]], kinds: list[str]) -> tuple[str, dict[str, float | None]]:
    lines, out = [], {}
    for kind in kinds:
        def closed(target: str, kind: str = kind) -> dict[str, Any] | None:
            for r in rows:
                if r["target"] == target and r["kind"] == kind and "half_of" not in r:
                    return r
            return None

        j, f = closed("jetd"), closed("freeradius")
        goal = TARGET_RATIO[kind]
        if j is None or f is None:
            lines.append(f"{KIND_TITLE[kind]:<13} jetd/FreeRADIUS: not measured (target >= {goal}x)")
            out[kind] = None
            continue
        bad = [f"{t}: {r.get('error') or '; '.join(r['problems'])}"
               for t, r in (("jetd", j), ("freeradius", f))
               if "error" in r or (r["problems"] and r["answered"] == 0)]
        if bad:
            lines.append(f"{KIND_TITLE[kind]:<13} jetd/FreeRADIUS: n/a (target >= {goal}x): {'; '.join(bad)}")
            out[kind] = None
            continue
        ratio = j["rps"] / f["rps"] if f["rps"] else float("nan")
        verdict = "meets" if ratio >= goal else "BELOW"
        lines.append(f"{KIND_TITLE[kind]:<13} jetd/FreeRADIUS: {ratio:.2f}x  "
                     f"({j['rps']:,.0f} / {f['rps']:,.0f} req/s; {verdict} the target >= {goal}x)")
        out[kind] = ratio
    return "\n".join(lines), out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=10.0, help="timed seconds per run (default 10)")
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--workers", type=int, default=2, help="jetd's radius.workers (default 2)")
    p.add_argument("--only", choices=("jetd", "freeradius"))
    p.add_argument("--kinds", default="auth,acct", help="comma-separated: auth, acct")
    p.add_argument("--half-rate", default="acct",
                   help="kinds that also run open loop at half the closed-loop rate ('' for none)")
    p.add_argument("--sockets", type=int, default=2, help="generator sockets per process (default 2)")
    p.add_argument("--inflight", type=int, default=32, help="requests in flight per socket")
    p.add_argument("--procs", type=int, default=2, help="generator processes (default 2)")
    p.add_argument("--timeout", type=float, default=2.0, help="a request unanswered this long is lost")
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--sessions", type=int, default=10_000)
    p.add_argument("--accounts", type=int, default=1_000)
    p.add_argument("--plan", default=DEFAULT_PLAN, help=f"jetd plan for the bench users ({DEFAULT_PLAN!r})")
    p.add_argument("--catalog", action="append",
                   help=f"pricebook file for jetd (repeatable; default {DEFAULT_CATALOG[0]})")
    p.add_argument("--fresh-users", action="store_true",
                   help="provision jetd's users afresh rather than from bench/radius/.cache (kept from an "
                        "earlier run with the same users, plan, pricebooks and code)")
    p.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    p.add_argument("--priority", type=int, metavar="NICE",
                   help="give the generator's and each target's process group this autogroup nice "
                        "(e.g. -10; root): on a box shared with other work, the only way the bench "
                        "gets the CPU (autogroups share it per session, whatever nice says)")
    args = p.parse_args(argv)
    args.kinds = [k for k in args.kinds.split(",") if k]
    args.half_rate = [k for k in args.half_rate.split(",") if k]
    if not args.kinds or any(k not in TARGET_RATIO for k in args.kinds):
        p.error("--kinds takes auth and/or acct")
    if args.accounts > args.users:
        p.error("--accounts must not exceed --users (accounting uses the first ACCOUNTS users)")

    targets = [args.only] if args.only else ["jetd", "freeradius"]
    print(f"RADIUS benchmark {time.strftime('%Y-%m-%d %H:%M:%S')}: {', '.join(targets)}; "
          f"{', '.join(KIND_TITLE[k] for k in args.kinds)}; {args.duration:g} s timed per run "
          f"(+{args.warmup:g} s warm-up); generator {args.procs} proc x {args.sockets} sockets x "
          f"{args.inflight} in flight; {args.users:,} users, {args.sessions:,} sessions over "
          f"{args.accounts:,} accounts; {os.cpu_count()} CPUs; yardstick {cpu_speed():.0f} ns CPU per "
          "md5(64 B)", flush=True)
    if args.priority is not None:
        warn_priority(loadgen.set_priority(os.getpid(), args.priority))
    rows: list[dict[str, Any]] = []
    try:
        with sigterm_as_interrupt():
            for target in targets:
                rows += run_target(args, target)
    except KeyboardInterrupt:
        print("interrupted: targets stopped", file=sys.stderr)
        return 130
    print()
    print(table(rows))
    if any(r.get("cpu_cores", {}).get("others", 0) > 0.15 for r in rows) and args.priority is None:
        print("\nother work used the CPU during some runs (see 'others'): rerun when the box is quiet, "
              "or with --priority -10")
    ratio_text, ratio_values = ratios(rows, args.kinds) if len(targets) == 2 else ("", {})
    if ratio_text:
        print()
        print(ratio_text)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": {k: v for k, v in vars(args).items()},
                                               "rows": rows, "ratios": ratio_values}, indent=2, default=str))
    # exit status: 0 unless the reference (FreeRADIUS) itself could not be measured
    failed = [r for r in rows if r["target"] == "freeradius" and ("error" in r or r.get("answered", 0) == 0)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
