"""The bare UDP server transport under load: no Redis, no accounts, just the transport.

    .venv/bin/python -m bench.radius_codec.udp [--kind auth|acct] [--duration 5]

Starts ``protocols.radius.server`` on 127.0.0.1 in this process (uvloop, a synchronous
handler: PAP checks ``pw-<user>``; accounting answers at once) and drives it with
``bench/radius/loadgen.py`` in a subprocess. The figure is the ceiling the daemon's
RADIUS path can reach on one core before any real work is added.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import sys
from pathlib import Path

import uvloop

from protocols.radius import errors
from protocols.radius.server import (
    ACCT_CODES,
    AUTH_CODES,
    ClientConfig,
    ClientTable,
    Reply,
    Request,
    start_server,
)

SECRET = "bench-radius-secret"
LOADGEN = Path(__file__).resolve().parents[1] / "radius" / "loadgen.py"
ACCEPT, REJECT, ACCT_RESPONSE = 2, 3, 5
SESSION_TIMEOUT = (27, (3600).to_bytes(4, "big"))


def auth_handler(request: Request) -> Reply:
    password = request.user_password()
    user = request.packet.get(1) or b""
    return Reply(ACCEPT if password == b"pw-" + user else REJECT, (SESSION_TIMEOUT,))


def acct_handler(request: Request) -> Reply:
    return Reply(ACCT_RESPONSE)


async def main(args: argparse.Namespace) -> None:
    drops: dict[str, int] = dict.fromkeys(errors.DROP_REASONS, 0)

    def on_drop(reason: str) -> None:
        drops[reason] += 1

    clients = ClientTable([ClientConfig("lo", ipaddress.ip_network("127.0.0.0/8"), SECRET.encode())])
    auth = args.kind == "auth"
    server = await start_server("127.0.0.1", 0, clients, auth_handler if auth else acct_handler,
                                on_drop=on_drop, codes=AUTH_CODES if auth else ACCT_CODES)
    port = server.address[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(LOADGEN), "--kind", args.kind, "--port", str(port), "--secret", SECRET,
        "--duration", str(args.duration), "--warmup", "1", "--sockets", str(args.sockets),
        "--inflight", str(args.inflight), "--target-pid", str(os.getpid()), "--json",
        stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    await server.close()
    try:
        result = json.loads(out.decode())
    except ValueError:
        print(out.decode())
        raise
    cores = result.get("cpu_cores", {})
    server_cores = cores.get("target", 0.0)
    per_core = result["rps"] / server_cores if server_cores else float("nan")
    print(f"bare protocols.radius server, {args.kind}: {result['rps']:,.0f} requests/s on "
          f"{server_cores:.2f} cores (= {per_core:,.0f} per fully used core), "
          f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, timeouts {result['timeouts']}; "
          f"other processes used {cores.get('others', 0):.2f} cores; "
          f"drops {({k: v for k, v in drops.items() if v})}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("auth", "acct"), default="auth")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--sockets", type=int, default=4)
    parser.add_argument("--inflight", type=int, default=64)
    uvloop.install()
    asyncio.run(main(parser.parse_args()))
