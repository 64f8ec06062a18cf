"""Which worker of a SO_REUSEPORT group gets a packet: the programs run by the real kernel,
two sockets sharing a port standing for two workers, one NAS source port sending."""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from collections.abc import Callable, Iterator

import pytest

from protocols.radius.reuseport import spread_by_identifier, spread_by_user_name
from protocols.radius.server import bind_udp

Spread = Callable[[socket.socket, int], bool]


@contextlib.contextmanager
def two_workers(spread: Spread) -> Iterator[Callable[[list[bytes]], list[list[bytes]]]]:
    """Yields send(packets) -> what each of the two sockets received, one NAS port sending."""
    first = bind_udp("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = bind_udp("127.0.0.1", port)
    nas = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(packets: list[bytes]) -> list[list[bytes]]:
        got: list[list[bytes]] = [[], []]
        for packet in packets:
            nas.sendto(packet, ("127.0.0.1", port))
        deadline = time.monotonic() + 5
        while sum(map(len, got)) < len(packets) and time.monotonic() < deadline:
            for index, sock in enumerate((first, second)):
                with contextlib.suppress(BlockingIOError):
                    got[index].append(sock.recv(4096))
        assert sum(map(len, got)) == len(packets)  # nothing lost, whatever the program does
        return got

    try:
        assert spread(first, 2) and spread(second, 2)
        yield send
    finally:
        for s in (first, second, nas):
            s.close()


def attr(kind: int, value: bytes) -> bytes:
    return bytes([kind, 2 + len(value)]) + value


def accounting(ident: int, *attrs: bytes) -> bytes:
    body = b"".join(attrs)
    return bytes([4, ident]) + struct.pack("!H", 20 + len(body)) + bytes(16) + body


def test_by_identifier_spreads_one_source_and_keeps_retransmissions_together() -> None:
    with two_workers(spread_by_identifier) as send:
        got = send([bytes([1, i, 0, 20]) + bytes(16) for i in [*range(16), 7, 7]])  # 7 retransmitted
    ids = [[p[1] for p in packets] for packets in got]
    assert sorted(ids[0] + ids[1]) == sorted([*range(16), 7, 7])
    assert {i % 2 for i in ids[0]} == {0} and {i % 2 for i in ids[1]} == {1}


NAMES = [f"user{n:05d}" for n in range(40)] + [f"{n}@visp.example.nz" for n in ("ana", "bo", "chen", "dee")] \
    + ["a", "bo", "eve", "mere", "tama", "sione", "hemi01", "nikau02", "ngaio003"] \
    + [f"alice.smith{n}@realm.example.nz" for n in range(10)]


def records_of(name: str, ident: int) -> list[bytes]:
    """Start, two interims and a Stop of one subscriber, each laid out differently: User-Name
    first, after other attributes, after attributes whose values change every record."""
    user = attr(1, name.encode())
    nas = attr(4, bytes([192, 0, 2, 1]))
    asid = attr(44, f"sess-{name}".encode())
    status = [attr(40, struct.pack("!I", s)) for s in (1, 3, 3, 2)]
    session_time = [attr(46, struct.pack("!I", t)) for t in (0, 300, 600, 900)]
    octets = [attr(42, struct.pack("!I", 1_000_003 * t)) for t in range(4)]
    return [accounting(ident, user, status[0], nas, asid, session_time[0]),
            accounting(ident + 1, status[1], session_time[1], octets[1], user, asid, nas),
            accounting(ident + 2, nas, asid, octets[2], status[2], session_time[2], octets[2], user),
            accounting(ident + 3, status[3], *[attr(26, bytes(8))] * 12, octets[3], user)]


def test_by_user_name_keeps_a_subscriber_on_one_worker_and_spreads_subscribers() -> None:
    packets = [p for n, name in enumerate(NAMES) for p in records_of(name, 4 * n % 256)]
    with two_workers(spread_by_user_name) as send:
        got = send(packets)
    worker_of: dict[bytes, set[int]] = {}
    for index, received in enumerate(got):
        for packet in received:
            name = next(v for v in _attrs(packet) if v[0] == 1)[1]
            worker_of.setdefault(name, set()).add(index)
    assert len(worker_of) == len(NAMES)
    assert all(len(workers) == 1 for workers in worker_of.values()), worker_of
    on_first = sum(1 for workers in worker_of.values() if workers == {0})
    assert 0.3 * len(NAMES) <= on_first <= 0.7 * len(NAMES)
    for prefix in ("alice", "user"):  # names alike but for a few characters still spread
        assert {next(iter(worker_of[n.encode()])) for n in NAMES if n.startswith(prefix)} == {0, 1}


@pytest.mark.parametrize("packet", [
    accounting(9, attr(40, struct.pack("!I", 7)), attr(4, bytes(4))),  # Accounting-On: no User-Name
    accounting(9, *[attr(26, bytes(4))] * 40, attr(1, b"far-down")),  # past the attributes looked at
    accounting(9, attr(40, struct.pack("!I", 3)), bytes([44, 0]) + b"junk"),  # length 0
    accounting(9, attr(1, b"")),  # empty name
    bytes([4, 9, 0, 20]) + bytes(16),  # no attributes
    bytes([4, 9, 0]),  # truncated header
])
def test_by_user_name_still_delivers_what_it_cannot_hash(packet: bytes) -> None:
    with two_workers(spread_by_user_name) as send:
        got = send([packet] * 3)
    assert [len(g) for g in got] in ([3, 0], [0, 3])  # the kernel's hash: one source, one worker


def _attrs(packet: bytes) -> Iterator[tuple[int, bytes]]:
    at = 20
    while at + 2 <= len(packet):
        kind, length = packet[at], packet[at + 1]
        yield kind, packet[at + 2:at + length]
        at += length
