"""The UDP server over real sockets on 127.0.0.1, with radclient as the independent client."""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from protocols.radius import codec, errors
from protocols.radius.dictionary import load_dictionary
from protocols.radius.packet import Attr, Code, Packet
from protocols.radius.server import (
    ACCT_CODES,
    AUTH_CODES,
    ClientConfig,
    ClientTable,
    Handler,
    RadiusServer,
    Reply,
    Request,
    bind_udp,
    start_server,
)
from tests.protocols.radius.radclient import needs_radclient, radclient

DICT = load_dictionary()
SECRET = b"testing123"


@dataclass
class App:
    """A handler that authenticates bob/hello and records what it saw."""

    calls: list[Request] = field(default_factory=list)
    drops: Counter[str] = field(default_factory=Counter)
    delay: float = 0.0
    durable: bool = True
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    called: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: Request) -> Reply | None:
        self.calls.append(request)
        self.called.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        if request.packet.code == Code.ACCOUNTING_REQUEST:
            return Reply(Code.ACCOUNTING_RESPONSE) if self.durable else None
        if request.packet.user_name == "bob" and request.user_password() == b"hello":
            return request.reply(Code.ACCESS_ACCEPT, [DICT.encode_attr("Mikrotik-Rate-Limit", "10M/10M"),
                                                      DICT.encode_attr("Session-Timeout", 3600)])
        return request.reply(Code.ACCESS_REJECT, [DICT.encode_attr("Reply-Message", "wrong password")])

    def on_drop(self, reason: str) -> None:
        self.drops[reason] += 1
        self.dropped.set()


def table(require_ma: bool = False, network: str = "127.0.0.0/8") -> ClientTable:
    return ClientTable([ClientConfig("lo", ipaddress.ip_network(network), SECRET, require_ma),
                        ClientConfig("other", ipaddress.ip_network("10.0.0.0/8"), b"x")])


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., asyncio.Future[RadiusServer]]]:
    servers: list[RadiusServer] = []

    async def start(app: App, *, handler: Handler | None = None, **kw: object) -> RadiusServer:
        kw.setdefault("clients", table())
        server = await start_server("127.0.0.1", 0, handler=handler or app.handle, on_drop=app.on_drop,
                                    **kw)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in servers:
        await server.close()


@needs_radclient
async def test_pap_accept_and_reject(serve) -> None:  # type: ignore[no-untyped-def]
    app = App()
    server = await serve(app)
    ok = await radclient(server.address[1], "auth", 'User-Name = "bob", User-Password = "hello"')
    assert ok.received == "Access-Accept", ok.output
    assert 'Mikrotik-Rate-Limit = "10M/10M"' in ok.output
    assert "Message-Authenticator = 0x" in ok.output  # BlastRADIUS: in every Access-* reply
    bad = await radclient(server.address[1], "auth", 'User-Name = "bob", User-Password = "nope"')
    assert bad.received == "Access-Reject"
    assert len(app.calls) == 2 and not app.drops


@needs_radclient
async def test_wrong_secret_gets_no_answer(serve) -> None:  # type: ignore[no-untyped-def]
    app = App()
    server = await serve(app)
    auth = await radclient(server.address[1], "auth",
                           'User-Name = "bob", User-Password = "hello", Message-Authenticator = 0x00',
                           secret="wrong", retries=1, wait=0.3)
    assert auth.received is None
    acct = await radclient(server.address[1], "acct", 'User-Name = "bob", Acct-Status-Type = Start',
                           secret="wrong", retries=1, wait=0.3)
    assert acct.received is None
    # the auth port does not take accounting, whatever the secret
    assert app.drops == {errors.BAD_MESSAGE_AUTHENTICATOR: 1, errors.BAD_AUTHENTICATOR: 1}
    assert not app.calls


@needs_radclient
async def test_accounting_port_with_wrong_secret(serve) -> None:  # type: ignore[no-untyped-def]
    app = App()
    server = await serve(app, codes=ACCT_CODES)
    acct = await radclient(server.address[1], "acct", 'User-Name = "bob", Acct-Status-Type = Start',
                           secret="wrong", retries=1, wait=0.3)
    assert acct.received is None and app.drops == {errors.BAD_AUTHENTICATOR: 1}
    good = await radclient(server.address[1], "acct", 'User-Name = "bob", Acct-Status-Type = Start')
    assert good.received == "Accounting-Response"


@needs_radclient
async def test_missing_message_authenticator_where_required(serve) -> None:  # type: ignore[no-untyped-def]
    app = App()
    server = await serve(app, clients=table(require_ma=True))
    without = await radclient(server.address[1], "auth", 'User-Name = "bob", User-Password = "hello"',
                              retries=1, wait=0.3)
    assert without.received is None
    assert app.drops == {errors.MISSING_MESSAGE_AUTHENTICATOR: 1}
    with_ma = await radclient(server.address[1], "auth",
                              'User-Name = "bob", User-Password = "hello", Message-Authenticator = 0x00')
    assert with_ma.received == "Access-Accept"


@needs_radclient
async def test_unknown_client_is_dropped(serve) -> None:  # type: ignore[no-untyped-def]
    app = App()
    server = await serve(app, clients=table(network="192.0.2.0/24"))
    result = await radclient(server.address[1], "auth", 'User-Name = "bob", User-Password = "hello"',
                             retries=1, wait=0.3)
    assert result.received is None and app.drops == {errors.UNKNOWN_CLIENT: 1}


class LossyRelay(asyncio.DatagramProtocol):
    """Sits between radclient and the server and loses the first reply."""

    def __init__(self, server: tuple[str, int]) -> None:
        self.server = server
        self.client: tuple[str, int] | None = None
        self.replies = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        if addr == self.server:
            self.replies += 1
            if self.replies > 1 and self.client is not None:
                self.transport.sendto(data, self.client)
        else:
            self.client = addr
            self.transport.sendto(data, self.server)


@needs_radclient
async def test_retransmission_gets_cached_reply_and_handler_runs_once(serve) -> None:  # type: ignore[no-untyped-def]
    app = App()
    server = await serve(app)
    loop = asyncio.get_running_loop()
    transport, relay = await loop.create_datagram_endpoint(lambda: LossyRelay(server.address),
                                                           local_addr=("127.0.0.1", 0))
    try:
        port = transport.get_extra_info("sockname")[1]
        result = await radclient(port, "auth", 'User-Name = "bob", User-Password = "hello"', retries=5,
                                 wait=0.3)
    finally:
        transport.close()
    assert result.received == "Access-Accept", result.output
    assert relay.replies >= 2
    assert len(app.calls) == 1
    assert server.protocol.resent >= 1


@needs_radclient
async def test_no_reply_means_the_retransmission_is_processed_again(serve) -> None:  # type: ignore[no-untyped-def]
    app = App(durable=False)
    server = await serve(app, codes=ACCT_CODES)
    result = await radclient(server.address[1], "acct", 'User-Name = "bob", Acct-Status-Type = Start',
                             retries=2, wait=1.0)  # radclient's -r counts every try
    assert result.received is None
    assert len(app.calls) == 2 and app.drops[errors.NO_REPLY] == 2


@needs_radclient
async def test_status_server(serve) -> None:  # type: ignore[no-untyped-def]
    app = App()
    server = await serve(app)
    result = await radclient(server.address[1], "status", "Message-Authenticator = 0x00")
    assert result.received == "Access-Accept" and not app.calls


class Peer(asyncio.DatagramProtocol):
    """A bare UDP socket in the loop, for datagrams radclient would never send."""

    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.replies.put_nowait(data)


async def peer() -> tuple[asyncio.DatagramTransport, Peer]:
    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        Peer, local_addr=("127.0.0.1", 0))
    return transport, protocol


def _raw_request(ident: int, user: bytes = b"bob") -> bytes:
    packet = Packet(Code.ACCESS_REQUEST, ident, bytes(range(16)), ((Attr.USER_NAME.value, user),))
    return codec.encode_request(packet, SECRET, message_authenticator=True)


async def test_garbage_never_stops_the_server_and_sync_handlers_answer_inline(serve) -> None:  # type: ignore[no-untyped-def]
    app = App()

    def sync_handler(request: Request) -> Reply:
        app.calls.append(request)
        return request.reply(Code.ACCESS_REJECT)

    server = await serve(app, handler=sync_handler)
    transport, client = await peer()
    for junk in (b"", b"\x01", bytes(20), b"\x01\x01\x00\x30" + bytes(60), b"\xff" * 300):
        transport.sendto(junk, server.address)
    transport.sendto(_raw_request(5), server.address)
    reply = codec.decode_reply(await asyncio.wait_for(client.replies.get(), 2), SECRET, bytes(range(16)))
    transport.close()
    assert reply.code == Code.ACCESS_REJECT and reply.identifier == 5
    assert app.drops[errors.MALFORMED] == 4 and len(app.calls) == 1
    assert server.protocol.in_flight == 0


async def test_retransmission_while_in_progress_is_dropped(serve) -> None:  # type: ignore[no-untyped-def]
    app = App(delay=1.0)
    server = await serve(app)
    transport, client = await peer()
    for _ in range(3):
        transport.sendto(_raw_request(7), server.address)
        await asyncio.sleep(0.05)
    reply = codec.decode_reply(await asyncio.wait_for(client.replies.get(), 2), SECRET, bytes(range(16)))
    transport.sendto(_raw_request(7), server.address)  # after the answer: the cached reply
    again = await asyncio.wait_for(client.replies.get(), 2)
    transport.close()
    assert reply.identifier == 7 and again == codec.encode_reply(
        codec.decode_request(_raw_request(7), SECRET), reply.code, reply.attributes[1:], SECRET)
    assert len(app.calls) == 1
    assert app.drops == {errors.DUPLICATE: 2} and server.protocol.resent == 1


async def test_overload_is_dropped_and_counted(serve) -> None:  # type: ignore[no-untyped-def]
    app = App(delay=1.0)
    server = await serve(app, max_in_flight=1)
    transport, client = await peer()
    transport.sendto(_raw_request(1), server.address)
    transport.sendto(_raw_request(2, b"eve"), server.address)
    first = codec.decode_reply(await asyncio.wait_for(client.replies.get(), 2), SECRET, bytes(range(16)))
    transport.close()
    assert first.identifier == 1
    assert app.drops == {errors.OVERLOAD: 1}


async def test_handler_errors_are_counted_not_raised(serve) -> None:  # type: ignore[no-untyped-def]
    app = App()

    async def broken(request: Request) -> Reply:
        raise RuntimeError("boom")

    def wrong_code(request: Request) -> Reply:
        return Reply(Code.ACCOUNTING_RESPONSE)  # does not answer an Access-Request

    for handler in (broken, wrong_code):
        server = await serve(app, handler=handler)
        transport, _ = await peer()
        transport.sendto(_raw_request(1), server.address)
        await asyncio.wait_for(app.dropped.wait(), 5)
        transport.close()
        assert app.drops == {errors.HANDLER_ERROR: 1}
        app.drops.clear()
        app.dropped.clear()


async def test_reuse_port_lets_two_workers_bind_the_same_port() -> None:
    first = bind_udp("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = bind_udp("127.0.0.1", port)
    assert second.getsockname()[1] == port
    first.close()
    second.close()


def test_client_table_longest_prefix() -> None:
    t = ClientTable([ClientConfig("wide", ipaddress.ip_network("10.0.0.0/8"), b"a"),
                     ClientConfig("narrow", ipaddress.ip_network("10.1.2.0/24"), b"b"),
                     ClientConfig("host", ipaddress.ip_network("10.1.2.3/32"), b"c"),
                     ClientConfig("v6", ipaddress.ip_network("2001:db8::/32"), b"d")])
    assert [getattr(t.lookup(a), "name", None) for a in
            ("10.1.2.3", "10.1.2.4", "10.9.9.9", "11.0.0.1", "2001:db8::1", "::ffff:10.1.2.3", "junk")] == \
        ["host", "narrow", "wide", None, "v6", "host", None]
    with pytest.raises(ValueError):
        ClientConfig("empty", ipaddress.ip_network("10.0.0.0/8"), b"")


def test_auth_and_acct_codes() -> None:
    assert Code.ACCESS_REQUEST in AUTH_CODES and Code.ACCOUNTING_REQUEST in ACCT_CODES


async def test_draining_drops_new_requests_but_answers_running_ones(serve) -> None:  # type: ignore[no-untyped-def]
    app = App(delay=1.0)
    server = await serve(app)
    transport, client = await peer()
    transport.sendto(_raw_request(1), server.address)
    await asyncio.wait_for(app.called.wait(), 5)
    drain = asyncio.ensure_future(server.protocol.drain())
    await asyncio.sleep(0)
    transport.sendto(_raw_request(2, b"late"), server.address)
    await drain
    reply = codec.decode_reply(await asyncio.wait_for(client.replies.get(), 2), SECRET, bytes(range(16)))
    transport.close()
    assert reply.identifier == 1 and len(app.calls) == 1
    assert app.drops == {errors.SHUTDOWN: 1}


async def test_ipv6_loopback() -> None:
    app = App()
    clients = ClientTable([ClientConfig("v6", ipaddress.ip_network("::1/128"), SECRET)])
    server = await start_server("::1", 0, clients, app.handle, on_drop=app.on_drop)
    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        Peer, local_addr=("::1", 0))
    transport.sendto(_raw_request(3), server.address)
    reply = codec.decode_reply(await asyncio.wait_for(protocol.replies.get(), 2), SECRET, bytes(range(16)))
    transport.close()
    await server.close()
    assert reply.identifier == 3 and reply.code == Code.ACCESS_REJECT  # no password given
