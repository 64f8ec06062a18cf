"""A RADIUS load generator that is cheap per request (so the server is the bottleneck).

asyncio + uvloop, several connected UDP sockets (each its own source port, so a server
using SO_REUSEPORT spreads them over its workers), many requests in flight per socket,
closed loop (the next request is sent when one is answered) or open loop at a fixed
rate. Packets are built by a minimal struct-based encoder in this file: no dependency on
protocols/radius or pyrad.

Kinds:
- ``auth``: PAP Access-Request (Message-Authenticator first, User-Name, User-Password
  hidden per RFC 2865, NAS-IP-Address, NAS-Port) for users ``user00000``… with
  password ``pw-<name>``.
- ``acct``: Accounting-Request Interim-Update for ``sessions`` concurrent sessions over
  ``accounts`` accounts, cumulative counters (Octets + Gigawords) growing per session;
  one Start per session is sent (and answered) before the timed window.

A request not answered within ``timeout`` is counted as lost (no retransmission) and
its slot sends a fresh request. Every request has a fresh Request Authenticator.

Run ``python bench/radius/loadgen.py --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import hashlib
import hmac
import json
import math
import multiprocessing
import os
import random
import socket
import struct
import sys
import time
from array import array
from dataclasses import asdict, dataclass, field
from typing import Any

ACCESS_REQUEST, ACCESS_ACCEPT, ACCESS_REJECT = 1, 2, 3
ACCOUNTING_REQUEST, ACCOUNTING_RESPONSE = 4, 5

# Attribute numbers (RFC 2865/2866/2869).
USER_NAME, USER_PASSWORD, NAS_IP_ADDRESS, NAS_PORT = 1, 2, 4, 5
SERVICE_TYPE, FRAMED_PROTOCOL, FRAMED_IP_ADDRESS = 6, 7, 8
CALLING_STATION_ID, NAS_IDENTIFIER = 31, 32
ACCT_STATUS_TYPE, ACCT_DELAY_TIME, ACCT_INPUT_OCTETS, ACCT_OUTPUT_OCTETS = 40, 41, 42, 43
ACCT_SESSION_ID, ACCT_AUTHENTIC, ACCT_SESSION_TIME = 44, 45, 46
ACCT_INPUT_GIGAWORDS, ACCT_OUTPUT_GIGAWORDS, EVENT_TIMESTAMP = 52, 53, 55
NAS_PORT_TYPE, MESSAGE_AUTHENTICATOR = 61, 80

STATUS_START, STATUS_STOP, STATUS_INTERIM = 1, 2, 3

DEFAULT_SECRET = "bench-radius-secret"
NAS_IP = "127.0.0.1"
ZERO16 = bytes(16)
_HEAD = struct.Struct("!BBH")

try:  # CPython's own MD5 is about 2x faster per call than OpenSSL's EVP for short inputs
    from _md5 import md5 as _fast_md5
except ImportError:  # pragma: no cover
    _fast_md5 = hashlib.md5
_INT_ATTR = struct.Struct("!BBI")
# Acct-Input-Octets, Acct-Output-Octets, Acct-Input-Gigawords, Acct-Output-Gigawords,
# Acct-Session-Time, Event-Timestamp: the part of an Interim that changes per packet.
_ACCT_DYNAMIC = struct.Struct("!" + "BBI" * 6)


def user_name(i: int) -> str:
    return f"user{i:05d}"


def user_password(name: str) -> str:
    return f"pw-{name}"


# --------------------------------------------------------------------------- encoder


def attr(kind: int, value: bytes) -> bytes:
    if len(value) > 253:
        raise ValueError(f"attribute {kind} too long")
    return bytes((kind, len(value) + 2)) + value


def int_attr(kind: int, value: int) -> bytes:
    return _INT_ATTR.pack(kind, 6, value)


def hide_password(password: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """RFC 2865 5.2 User-Password hiding (any length up to 128)."""
    padded = password + bytes(-len(password) % 16 or (16 if not password else 0))
    out = bytearray()
    last = authenticator
    for i in range(0, len(padded), 16):
        key = hashlib.md5(secret + last).digest()
        block = bytes(a ^ b for a, b in zip(padded[i:i + 16], key, strict=True))
        out += block
        last = block
    return bytes(out)


class AuthBuilder:
    """PAP Access-Requests for users[start::step], cycling."""

    def __init__(self, secret: bytes, users: int, start: int, step: int, nas_port: int) -> None:
        self.secret = secret
        self.secret_md5 = _fast_md5(secret)
        # HMAC-MD5 by hand from precomputed inner/outer states: hmac.digest() costs ~4.6 us
        # per call here (OpenSSL setup), this ~1.2 us.
        key = secret if len(secret) <= 64 else _fast_md5(secret).digest()
        self.hmac_inner = _fast_md5(bytes(b ^ 0x36 for b in key.ljust(64, b"\0")))
        self.hmac_outer = _fast_md5(bytes(b ^ 0x5C for b in key.ljust(64, b"\0")))
        tail = attr(NAS_IP_ADDRESS, socket.inet_aton(NAS_IP)) + int_attr(NAS_PORT, nas_port)
        self.entries: list[tuple[int, bytes, int, bytes]] = []
        for i in range(start, users, step):
            name = user_name(i).encode()
            password = user_password(user_name(i)).encode()
            if len(password) > 16:
                raise ValueError("the fast path hides passwords of up to 16 bytes")
            pw_int = int.from_bytes(password.ljust(16, b"\0"), "big")
            before = attr(USER_NAME, name) + bytes((USER_PASSWORD, 18))
            length = 20 + 18 + len(before) + 16 + len(tail)
            self.entries.append((length, before, pw_int, tail))
        if not self.entries:
            raise ValueError("no users for this socket")
        self.next_index = 0
        self.starts_pending = 0

    def build(self, ident: int) -> bytes:
        entries = self.entries
        length, before, pw_int, tail = entries[self.next_index]
        self.next_index = (self.next_index + 1) % len(entries)
        ra = random.randbytes(16)
        key = self.secret_md5.copy()
        key.update(ra)
        hidden = (int.from_bytes(key.digest(), "big") ^ pw_int).to_bytes(16, "big")
        head = _HEAD.pack(ACCESS_REQUEST, ident, length) + ra + b"\x50\x12"
        rest = before + hidden + tail
        inner = self.hmac_inner.copy()
        inner.update(head + ZERO16 + rest)
        outer = self.hmac_outer.copy()
        outer.update(inner.digest())
        return head + outer.digest() + rest


class AcctBuilder:
    """Accounting-Requests for sessions[start::step]: first one Start each, then Interims."""

    def __init__(self, secret: bytes, sessions: int, accounts: int, start: int, step: int,
                 run_id: str, interim_octets: int = 0) -> None:
        self.secret = secret
        now = int(time.time())
        self.sessions: list[list[Any]] = []
        for s in range(start, sessions, step):
            name = user_name(s % accounts).encode()
            static = (
                attr(ACCT_SESSION_ID, f"{run_id}-{s:06d}".encode())
                + attr(USER_NAME, name)
                + attr(NAS_IP_ADDRESS, socket.inet_aton(NAS_IP))
                + attr(NAS_IDENTIFIER, b"bench-nas")
                + int_attr(NAS_PORT, s)
                + int_attr(NAS_PORT_TYPE, 15)  # Ethernet
                + int_attr(SERVICE_TYPE, 2)  # Framed-User
                + int_attr(FRAMED_PROTOCOL, 1)  # PPP
                + attr(FRAMED_IP_ADDRESS, struct.pack("!I", 0x0A000000 + s + 1))
                + attr(CALLING_STATION_ID, f"02-00-{s >> 24 & 255:02X}-{s >> 16 & 255:02X}-"
                       f"{s >> 8 & 255:02X}-{s & 255:02X}".encode())
                + int_attr(ACCT_AUTHENTIC, 1)
                + int_attr(ACCT_DELAY_TIME, 0)
            )
            # bytes per interim: 1..~100 MB in, 4x out; every 10th session 3 GiB out, so
            # its Acct-Output-Gigawords grows from its second Interim on.
            step_in = interim_octets or 1_000_000 + (s % 1000) * 100_000
            step_out = 3 << 30 if s % 10 == 0 and not interim_octets else 4 * step_in
            # [static, in, out, step_in, step_out, start_time, started]
            self.sessions.append([static, 0, 0, step_in, step_out, now - s % 3600, False])
        if not self.sessions:
            raise ValueError("no sessions for this socket")
        self.next_index = 0
        self.starts_pending = len(self.sessions)
        self.now = now

    def build(self, ident: int) -> bytes:
        sessions = self.sessions
        sess = sessions[self.next_index]
        self.next_index = (self.next_index + 1) % len(sessions)
        if sess[6]:
            status = STATUS_INTERIM
            sess[1] += sess[3]
            sess[2] += sess[4]
        else:
            status = STATUS_START
            sess[6] = True
            self.starts_pending -= 1
        total_in, total_out, now = sess[1], sess[2], self.now
        body = int_attr(ACCT_STATUS_TYPE, status) + sess[0] + _ACCT_DYNAMIC.pack(
            ACCT_INPUT_OCTETS, 6, total_in & 0xFFFFFFFF,
            ACCT_OUTPUT_OCTETS, 6, total_out & 0xFFFFFFFF,
            ACCT_INPUT_GIGAWORDS, 6, total_in >> 32,
            ACCT_OUTPUT_GIGAWORDS, 6, total_out >> 32,
            ACCT_SESSION_TIME, 6, now - sess[5],
            EVENT_TIMESTAMP, 6, now,
        )
        head = _HEAD.pack(ACCOUNTING_REQUEST, ident, 20 + len(body))
        digest = _fast_md5(head + ZERO16 + body + self.secret).digest()
        return head + digest + body


def response_ok(response: bytes, request_authenticator: bytes, secret: bytes) -> bool:
    """Verify a reply's Response Authenticator (and Message-Authenticator if present)."""
    if len(response) < 20:
        return False
    expect = hashlib.md5(response[:4] + request_authenticator + response[20:] + secret).digest()
    if expect != response[4:20]:
        return False
    i = 20
    while i + 2 <= len(response):
        kind, length = response[i], response[i + 1]
        if length < 2:
            return False
        if kind == MESSAGE_AUTHENTICATOR and length == 18:
            zeroed = response[:4] + request_authenticator + response[20:i + 2] + ZERO16 + response[i + 18:]
            return hmac.compare_digest(hmac.digest(secret, zeroed, "md5"), response[i + 2:i + 18])
        i += length
    return True


def probe(host: str, port: int, secret: str, kind: str = "auth", timeout: float = 1.0,
          name: str | None = None, password: str | None = None) -> int | None:
    """One request from this encoder (auth: PAP for ``name``; acct: a Start for a probe
    session); the reply's code, or None if nothing (valid) came back within timeout."""
    secret_b = secret.encode()
    if kind == "auth":
        builder: AuthBuilder | AcctBuilder = AuthBuilder(secret_b, 1, 0, 1, nas_port=0)
        if name is not None or password is not None:
            name = name or user_name(0)
            password_b = (password if password is not None else user_password(name)).encode()
            before = attr(USER_NAME, name.encode()) + bytes((USER_PASSWORD, 18))
            _, _, _, tail = builder.entries[0]
            builder.entries[0] = (20 + 18 + len(before) + 16 + len(tail), before,
                                  int.from_bytes(password_b.ljust(16, b"\0"), "big"), tail)
    else:
        builder = AcctBuilder(secret_b, 1, 1, 0, 1, f"probe{os.getpid()}")
    ident = random.randrange(256)
    packet = builder.build(ident)
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((host, port))
            sock.send(packet)
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                data = sock.recv(4096)
                if len(data) >= 20 and data[1] == ident and response_ok(data, packet[4:20], secret_b):
                    return data[0]
        except OSError:  # timeout, ICMP port unreachable
            return None
    return None


# --------------------------------------------------------------------------- the load


@dataclass
class Stats:
    sent: int = 0
    answered: int = 0
    accepts: int = 0
    rejects: int = 0
    acct_responses: int = 0
    other: int = 0
    timeouts: int = 0
    late: int = 0
    verified: int = 0
    verify_failed: int = 0
    starts_answered: int = 0
    window_s: float = 0.0
    cpu_s: float = 0.0  # the generator's own CPU time during the window (all its processes)
    machine: list[float] = field(default_factory=list)  # machine_sample() deltas over the window
    latencies: array = field(default_factory=lambda: array("q"))

    def merge(self, other: Stats) -> None:
        for name in ("sent", "answered", "accepts", "rejects", "acct_responses", "other", "timeouts",
                     "late", "verified", "verify_failed", "starts_answered", "cpu_s"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.window_s = max(self.window_s, other.window_s)
        self.machine = self.machine or other.machine
        self.latencies.extend(other.latencies)


IDS = 256
VERIFY_EVERY = 16  # check one answer in this many (Response Authenticator, Message-Authenticator)


class Flow(asyncio.DatagramProtocol):
    """One UDP socket: up to ``inflight`` outstanding requests, 256 identifiers."""

    def __init__(self, builder: AuthBuilder | AcctBuilder, secret: bytes, inflight: int,
                 timeout_s: float, stats: Stats, closed_loop: bool) -> None:
        self.builder = builder
        self.secret = secret
        self.inflight_max = min(inflight, IDS)
        self.timeout_ns = int(timeout_s * 1e9)
        self.stats = stats
        self.closed_loop = closed_loop
        ids = list(range(IDS))
        random.shuffle(ids)
        self.free: collections.deque[int] = collections.deque(ids)
        self.sent_at = [0] * IDS
        self.req_auth: list[bytes] = [ZERO16] * IDS
        self.quarantine: list[tuple[int, int]] = []  # (release at ns, id) after a timeout
        self.inflight = 0
        self.measuring = False
        self.running = True
        self.verify_count = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  (uvloop's UDPTransport)

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable
        self.stats.other += 0  # counted as timeouts when they expire

    def send(self) -> bool:
        if not self.free or self.inflight >= self.inflight_max or not self.running:
            return False
        ident = self.free.popleft()
        packet = self.builder.build(ident)
        self.req_auth[ident] = packet[4:20]
        self.inflight += 1
        self.sent_at[ident] = time.perf_counter_ns()
        assert self.transport is not None
        self.transport.sendto(packet)
        self.stats.sent += 1
        return True

    def fill(self) -> None:
        while self.send():
            pass

    def datagram_received(self, data: bytes, addr: Any) -> None:
        now = time.perf_counter_ns()
        if len(data) < 20:
            return
        ident = data[1]
        sent = self.sent_at[ident]
        stats = self.stats
        if not sent:
            stats.late += 1
            return
        self.sent_at[ident] = 0
        self.inflight -= 1
        self.verify_count += 1
        if self.verify_count >= VERIFY_EVERY:
            self.verify_count = 0
            stats.verified += 1
            if not response_ok(data, self.req_auth[ident], self.secret):
                stats.verify_failed += 1
        self.free.append(ident)
        if self.measuring:
            stats.answered += 1
            stats.latencies.append(now - sent)
            code = data[0]
            if code == ACCESS_ACCEPT:
                stats.accepts += 1
            elif code == ACCESS_REJECT:
                stats.rejects += 1
            elif code == ACCOUNTING_RESPONSE:
                stats.acct_responses += 1
            else:
                stats.other += 1
        elif data[0] == ACCOUNTING_RESPONSE:
            stats.starts_answered += 1
        if self.closed_loop:
            self.send()

    def sweep(self, now: int) -> None:
        """Expire requests older than the timeout (lost); release old quarantined ids."""
        limit = now - self.timeout_ns
        sent_at = self.sent_at
        for ident in range(IDS):
            sent = sent_at[ident]
            if sent and sent < limit:
                sent_at[ident] = 0
                self.inflight -= 1
                if self.measuring:
                    self.stats.timeouts += 1
                # a late answer must not be taken for the next request with this id
                self.quarantine.append((now + 4 * self.timeout_ns, ident))
        if self.quarantine:
            keep = []
            for release, ident in self.quarantine:
                if release <= now:
                    self.free.append(ident)
                else:
                    keep.append((release, ident))
            self.quarantine = keep
        if self.closed_loop:
            self.fill()


CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_tree_cpu(root: int) -> float:
    """CPU seconds (user+system, all threads) of process root and its descendants."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                raw = fh.read()
        except OSError:
            continue
        fields = raw[raw.rfind(b")") + 2:].split()
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    total, todo = 0.0, [root]
    seen = set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in times:
            continue
        seen.add(pid)
        total += times[pid]
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total


def machine_sample(target_pids: list[int]) -> tuple[float, float, float, float]:
    """(wall, machine CPU seconds busy in user/system, softirq seconds, target CPU seconds)."""
    with open("/proc/stat") as fh:
        cpu = [int(x) for x in fh.readline().split()[1:]]
    busy = (cpu[0] + cpu[1] + cpu[2] + (cpu[7] if len(cpu) > 7 else 0)) / CLK_TCK
    softirq = (cpu[5] + cpu[6]) / CLK_TCK
    target = sum(_proc_tree_cpu(pid) for pid in target_pids)
    return time.monotonic(), busy, softirq, target


def set_priority(pid: int, nice: int) -> str | None:
    """Give pid's scheduling group the weight of ``nice`` (None: done; else why not).

    With autogroups (sched_autogroup_enabled, as here) every session shares the CPU
    equally with every other session whatever the processes' nice values, so on a box
    where others run tests the generator and the target each get 1/N of it. Setting the
    autogroup's nice (root) is what moves that; the same value is given to the generator
    and to the target so neither is favoured."""
    try:
        with open(f"/proc/{pid}/autogroup", "w") as fh:
            fh.write(str(nice))
        return None
    except OSError as exc:
        try:
            os.setpriority(os.PRIO_PROCESS, pid, nice)
        except OSError:
            pass
        return f"autogroup nice {nice} for pid {pid}: {exc.strerror}"


def wait_quiet(max_wait: float, threshold: float = 0.3, span: float = 2.0) -> float:
    """Wait (at most max_wait s) until the machine's busy CPU stays under ``threshold``
    cores for ``span`` s (others' test runs disturb the figures); return the last
    busy figure seen."""
    deadline = time.monotonic() + max_wait
    busy = float("inf")
    while True:
        t0, b0, s0, _ = machine_sample([])
        time.sleep(span)
        t1, b1, s1, _ = machine_sample([])
        busy = (b1 - b0 + s1 - s0) / (t1 - t0)
        if busy < threshold or time.monotonic() + span > deadline:
            return busy


@dataclass
class LoadConfig:
    kind: str = "auth"  # auth | acct
    host: str = "127.0.0.1"
    port: int = 1812
    secret: str = DEFAULT_SECRET
    duration: float = 10.0
    warmup: float = 1.0
    sockets: int = 4
    inflight: int = 64
    timeout: float = 2.0
    rate: float = 0.0  # > 0: open loop at this many requests/s (all sockets together)
    users: int = 10_000
    sessions: int = 10_000
    accounts: int = 1_000
    procs: int = 1
    run_id: str = ""
    max_start_s: float = 60.0  # bound on the Start phase (acct)
    # if given: report the CPU use of these process trees (the target: e.g. jetd and its
    # Redis), of the generator and of everything else
    target_pids: list[int] = field(default_factory=list)


def _builder(cfg: LoadConfig, index: int, total: int) -> AuthBuilder | AcctBuilder:
    secret = cfg.secret.encode()
    if cfg.kind == "auth":
        return AuthBuilder(secret, cfg.users, index, total, nas_port=index)
    if cfg.kind == "acct":
        return AcctBuilder(secret, cfg.sessions, cfg.accounts, index, total, cfg.run_id)
    raise ValueError(f"unknown kind {cfg.kind!r}")


async def _run_flows(cfg: LoadConfig, first_socket: int, total_sockets: int, conn: Any = None) -> Stats:
    """Run this process's sockets. With conn (a pipe to the parent of several generator
    processes): say "ready" once the Starts are done, and open the timed window at the
    time.monotonic() the parent answers, the same for all; else after the warm-up."""
    loop = asyncio.get_running_loop()
    stats = Stats()
    closed = cfg.rate <= 0
    flows: list[Flow] = []
    for k in range(cfg.sockets):
        builder = _builder(cfg, first_socket + k, total_sockets)
        flow = Flow(builder, cfg.secret.encode(), cfg.inflight, cfg.timeout, stats, closed)
        await loop.create_datagram_endpoint(lambda f=flow: f, remote_addr=(cfg.host, cfg.port),
                                            family=socket.AF_INET)
        flows.append(flow)

    async def sweeper() -> None:
        while True:
            await asyncio.sleep(0.05)
            now = time.perf_counter_ns()
            for flow in flows:
                flow.sweep(now)

    async def clock() -> None:  # Event-Timestamp, one clock read per 100 ms
        while True:
            await asyncio.sleep(0.1)
            now = int(time.time())
            for flow in flows:
                if isinstance(flow.builder, AcctBuilder):
                    flow.builder.now = now

    async def pacer() -> None:  # open loop: send what is due every millisecond
        per_flow = cfg.rate / len(flows)
        began = time.perf_counter()
        done = 0
        while True:
            await asyncio.sleep(0.001)
            due = int((time.perf_counter() - began) * per_flow)
            for flow in flows:
                for _ in range(due - done):
                    if not flow.send():
                        break  # no identifier free: the server is behind; not queued
            done = due

    tasks = [asyncio.ensure_future(sweeper()), asyncio.ensure_future(clock())]
    try:
        if cfg.kind == "acct":
            # one Start per session, before the timed window, in closed loop
            for flow in flows:
                flow.closed_loop = True
                flow.fill()
            deadline = time.monotonic() + cfg.max_start_s
            while any(f.builder.starts_pending for f in flows) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            for flow in flows:
                flow.closed_loop = closed
        if closed:
            for flow in flows:
                flow.fill()
        else:
            tasks.append(asyncio.ensure_future(pacer()))
        if conn is None:
            t_start = time.monotonic() + cfg.warmup
        else:
            conn.send(("ready", None))
            t_start = await loop.run_in_executor(None, conn.recv)
        await asyncio.sleep(max(0.0, t_start - time.monotonic()))
        sample0 = machine_sample(cfg.target_pids) if first_socket == 0 else None
        began = time.perf_counter()
        cpu0 = time.process_time()
        for flow in flows:
            flow.measuring = True
        await asyncio.sleep(max(0.0, t_start + cfg.duration - time.monotonic()))
        for flow in flows:
            flow.measuring = False
            flow.running = False
        stats.window_s = time.perf_counter() - began
        stats.cpu_s = time.process_time() - cpu0
        if sample0 is not None:
            sample1 = machine_sample(cfg.target_pids)
            stats.machine = [b - a for a, b in zip(sample0, sample1, strict=True)]
        # requests still in flight at the end are neither answered nor lost
    finally:
        for task in tasks:
            task.cancel()
        for flow in flows:
            if flow.transport is not None:
                flow.transport.close()
        await asyncio.sleep(0)
    return stats


class _Echo(asyncio.DatagramProtocol):
    """A responder that costs next to nothing: the request's header back as the answer."""

    def __init__(self, code: int) -> None:
        self.code = bytes((code,))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(self.code + data[1:20], addr)  # type: ignore[attr-defined]


async def _ceiling(cfg: LoadConfig) -> tuple[Stats, float]:
    loop = asyncio.get_running_loop()
    code = ACCESS_ACCEPT if cfg.kind == "auth" else ACCOUNTING_RESPONSE
    transport, _ = await loop.create_datagram_endpoint(lambda: _Echo(code), local_addr=("127.0.0.1", 0))
    try:
        cfg.port = transport.get_extra_info("sockname")[1]
        began = time.process_time()
        stats = await _run_flows(cfg, 0, cfg.sockets, None)
        return stats, time.process_time() - began
    finally:
        transport.close()


def ceiling(cfg: LoadConfig) -> dict[str, Any]:
    """The generator's own ceiling: one process running the generator and an in-process
    responder that does nothing, on one core. Its CPU per request covers both sides of
    the loopback sends (an upper bound for the generator alone)."""
    import uvloop

    stats, _ = uvloop.run(_ceiling(cfg))
    us = stats.cpu_s / max(1, stats.answered) * 1e6
    return {"kind": cfg.kind, "rps": stats.answered / stats.window_s, "us_per_req": us,
            "per_core": 1e6 / us if us else 0.0, "answered": stats.answered}


def _run_in_process(cfg: LoadConfig, first_socket: int, total_sockets: int, conn: Any = None) -> Stats:
    import uvloop

    return uvloop.run(_run_flows(cfg, first_socket, total_sockets, conn))


def _child(conn: Any, cfg: LoadConfig, first_socket: int, total_sockets: int) -> None:
    try:
        stats = _run_in_process(cfg, first_socket, total_sockets, conn)
        data = asdict(stats)
        data["latencies"] = stats.latencies.tobytes()
        conn.send(("ok", data))
    except BaseException as exc:  # report anything to the parent
        conn.send(("error", repr(exc)))
    finally:
        conn.close()


def run_load(cfg: LoadConfig) -> dict[str, Any]:
    """Run the load (in cfg.procs processes) and return the figures."""
    if not cfg.run_id:
        cfg.run_id = f"{os.getpid():x}{int(time.time()) & 0xFFFFF:05x}"
    total = cfg.sockets * cfg.procs
    if cfg.procs <= 1:
        stats = _run_in_process(cfg, 0, total, None)
    else:
        ctx = multiprocessing.get_context("fork")
        sub = LoadConfig(**{**asdict(cfg), "rate": cfg.rate / cfg.procs, "procs": 1})
        children = []
        for p in range(cfg.procs):
            parent_conn, child_conn = ctx.Pipe()
            proc = ctx.Process(target=_child, args=(child_conn, sub, p * cfg.sockets, total), daemon=True)
            proc.start()
            child_conn.close()
            children.append((proc, parent_conn))
        stats = Stats()
        errors = []
        # every child has sent its Starts (acct) and runs: open the window for all at once
        limit = time.monotonic() + cfg.max_start_s + 30
        for _proc, conn in children:
            if not conn.poll(max(0.1, limit - time.monotonic())):
                errors.append("a generator process did not get ready")
        t_start = time.monotonic() + cfg.warmup
        for _proc, conn in children:
            with contextlib.suppress(OSError):
                conn.send(t_start)
        limit = t_start + cfg.duration + 30
        for _proc, conn in children:
            if not conn.poll(max(0.1, limit - time.monotonic())):
                errors.append("a generator process did not report")
                continue
            status, data = conn.recv()
            if status == "ready":
                status, data = conn.recv() if conn.poll(max(0.1, limit - time.monotonic())) else ("error", "")
            if status != "ok":
                errors.append(data)
                continue
            lat = array("q")
            lat.frombytes(data.pop("latencies"))
            stats.merge(Stats(**data, latencies=lat))
        for proc, _ in children:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
        if errors:
            raise RuntimeError("generator failed: " + "; ".join(map(str, errors)))
    return summarize(cfg, stats)


def percentile(sorted_values: array | list[int], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))  # nearest rank
    return sorted_values[index] / 1e6


def summarize(cfg: LoadConfig, stats: Stats) -> dict[str, Any]:
    lat = sorted(stats.latencies)
    window = stats.window_s or cfg.duration
    result: dict[str, Any] = {
        "kind": cfg.kind,
        "mode": f"open loop {cfg.rate:.0f}/s" if cfg.rate > 0 else "closed loop",
        "sockets": cfg.sockets * cfg.procs,
        "inflight": cfg.inflight,
        "procs": cfg.procs,
        "window_s": round(window, 3),
        "sent": stats.sent,
        "answered": stats.answered,
        "rps": stats.answered / window if window else 0.0,
        "p50_ms": percentile(lat, 0.50),
        "p99_ms": percentile(lat, 0.99),
        "p999_ms": percentile(lat, 0.999),
        "max_ms": lat[-1] / 1e6 if lat else float("nan"),
        "timeouts": stats.timeouts,
        "late": stats.late,
        "accepts": stats.accepts,
        "rejects": stats.rejects,
        "acct_responses": stats.acct_responses,
        "other": stats.other,
        "verified": stats.verified,
        "verify_failed": stats.verify_failed,
        "starts_answered": stats.starts_answered,
        "sessions": cfg.sessions,
        "gen_cpu_s": round(stats.cpu_s, 3),
        "gen_us_per_req": stats.cpu_s / max(1, stats.answered) * 1e6,
    }
    if stats.machine and stats.machine[0] > 0:
        wall, busy, softirq, target = stats.machine
        result["cpu_cores"] = {
            "target": round(target / wall, 2),
            "generator": round(stats.cpu_s / wall, 2),
            "softirq": round(softirq / wall, 2),
            "others": round(max(0.0, busy - target - stats.cpu_s) / wall, 2),
            "machine": os.cpu_count(),
        }
    result["problems"] = problems(result)
    return result


def problems(r: dict[str, Any]) -> list[str]:
    """What makes this run a failed benchmark (empty: fine)."""
    out = []
    if r["answered"] == 0:
        out.append("no answers at all")
    if r["kind"] == "auth" and r["rejects"] * 2 > r["answered"] > 0:
        out.append(f"MOST ANSWERS ARE ACCESS-REJECT ({r['rejects']} of {r['answered']}): "
                   "wrong users, passwords or secret")
    elif r["kind"] == "auth" and r["rejects"]:
        out.append(f"{r['rejects']} Access-Rejects")
    if r["kind"] == "acct" and r["starts_answered"] < r["sessions"]:
        out.append(f"only {r['starts_answered']} of {r['sessions']} Accounting-Starts answered "
                   "before the timed run")
    if r["kind"] == "acct" and r["answered"] and r["acct_responses"] < r["answered"]:
        out.append(f"{r['answered'] - r['acct_responses']} answers were not Accounting-Response")
    if r["verify_failed"]:
        out.append(f"{r['verify_failed']} of {r['verified']} checked answers had a bad authenticator")
    others = r.get("cpu_cores", {}).get("others", 0.0)
    if others > 0.15:
        out.append(f"other processes used {others:.2f} cores during the run: figures disturbed")
    if r["timeouts"] and r["timeouts"] > 0.001 * max(1, r["answered"]):
        out.append(f"{r['timeouts']} requests lost (timeout)")
    return out


def format_result(r: dict[str, Any]) -> str:
    codes = (f"accept {r['accepts']} reject {r['rejects']}" if r["kind"] == "auth"
             else f"acct-response {r['acct_responses']}")
    line = (f"{r['kind']:5s} {r['mode']}: {r['rps']:,.0f} req/s  p50 {r['p50_ms']:.2f} ms  "
            f"p99 {r['p99_ms']:.2f} ms  p99.9 {r['p999_ms']:.2f} ms  timeouts {r['timeouts']}  "
            f"{codes}  ({r['answered']:,} answers in {r['window_s']:.1f} s, {r['sockets']} sockets x "
            f"{r['inflight']} in flight, {r['procs']} proc; generator CPU {r['gen_us_per_req']:.1f} us/req)")
    if "cpu_cores" in r:
        c = r["cpu_cores"]
        line += (f"\n  CPU cores used: target {c['target']:.2f}, generator {c['generator']:.2f}, "
                 f"softirq {c['softirq']:.2f}, others {c['others']:.2f} (of {c['machine']})")
    for problem in r["problems"]:
        line += f"\n  !!! {problem}"
    return line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kind", choices=("auth", "acct"), default="auth")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, help="default 1812 for auth, 1813 for acct")
    p.add_argument("--secret", default=DEFAULT_SECRET)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--sockets", type=int, default=4, help="per process")
    p.add_argument("--inflight", type=int, default=64, help="per socket (at most 256)")
    p.add_argument("--timeout", type=float, default=2.0)
    p.add_argument("--rate", type=float, default=0.0, help="open loop at this rate (req/s)")
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--sessions", type=int, default=10_000)
    p.add_argument("--accounts", type=int, default=1_000)
    p.add_argument("--procs", type=int, default=1, help="generator processes")
    p.add_argument("--json", action="store_true")
    p.add_argument("--target-pid", type=int, action="append", default=[],
                   help="report this process tree's CPU use as the target's (repeatable)")
    p.add_argument("--priority", type=int, help="autogroup nice for this generator (e.g. -10; root)")
    p.add_argument("--ceiling", action="store_true",
                   help="measure the generator's own ceiling against an in-process null responder")
    a = p.parse_args(argv)
    if a.priority is not None and (why := set_priority(os.getpid(), a.priority)):
        print(f"warning: {why}", file=sys.stderr)
    if a.host not in ("127.0.0.1", "localhost", "::1"):
        p.error("traffic goes only to 127.0.0.1")
    cfg = LoadConfig(kind=a.kind, host=a.host, port=a.port or (1812 if a.kind == "auth" else 1813),
                     secret=a.secret, duration=a.duration, warmup=a.warmup, sockets=a.sockets,
                     inflight=a.inflight, timeout=a.timeout, rate=a.rate, users=a.users,
                     sessions=a.sessions, accounts=a.accounts, procs=a.procs,
                     target_pids=a.target_pid)
    if a.ceiling:
        c = ceiling(cfg)
        print(json.dumps(c) if a.json else
              f"{c['kind']}: generator + null responder in one process: {c['rps']:,.0f} req/s, "
              f"{c['us_per_req']:.1f} us CPU per request (both sides) -> at most {c['per_core']:,.0f} "
              "req/s per core of generator")
        return 0
    result = run_load(cfg)
    print(json.dumps(result, indent=2) if a.json else format_result(result))
    return 1 if result["problems"] and result["answered"] == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
