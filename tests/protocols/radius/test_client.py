"""The CoA/Disconnect client against a small NAS stand-in, and proxying with failover."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator

import pytest

from protocols.radius import codec
from protocols.radius.attributes import decrypt_salted, encrypt_salted, hide_password
from protocols.radius.client import Endpoint, RadiusClient
from protocols.radius.dictionary import load_dictionary
from protocols.radius.errors import ClientError, DecodeError, ErrorCause, UpstreamTimeout
from protocols.radius.packet import MS_MPPE_SEND_KEY, Attr, Attribute, Code, Packet
from protocols.radius.server import ClientConfig, ClientTable, Reply, Request, start_server
from tests.protocols.radius.radclient import needs_radclient, radclient

DICT = load_dictionary()
NAS_SECRET = b"nas-secret"


class NasStandIn(asyncio.DatagramProtocol):
    """Answers CoA/Disconnect like a NAS: ACK for session "s1", NAK 503 otherwise.
    ``lose`` requests are ignored first (to exercise retries)."""

    def __init__(self, secret: bytes = NAS_SECRET, lose: int = 0) -> None:
        self.secret = secret
        self.lose = lose
        self.received: list[Packet] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        try:
            request = codec.decode_request(data, self.secret, require_message_authenticator=True)
        except DecodeError:
            return
        self.received.append(request)
        if self.lose:
            self.lose -= 1
            return
        replies: dict[int, tuple[Code, Code]] = {Code.COA_REQUEST: (Code.COA_ACK, Code.COA_NAK),
                    Code.DISCONNECT_REQUEST: (Code.DISCONNECT_ACK, Code.DISCONNECT_NAK)}
        ack, nak = replies[request.code]
        if request.acct_session_id == "s1":
            self.transport.sendto(codec.encode_reply(request, ack, [], self.secret), addr)
        else:
            cause = (Attr.ERROR_CAUSE.value, int(ErrorCause.SESSION_CONTEXT_NOT_FOUND).to_bytes(4, "big"))
            self.transport.sendto(codec.encode_reply(request, nak, [cause], self.secret), addr)


async def nas(lose: int = 0) -> tuple[asyncio.DatagramTransport, NasStandIn, Endpoint]:
    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: NasStandIn(lose=lose), local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    return transport, protocol, Endpoint("127.0.0.1", port, NAS_SECRET)


@pytest.fixture
async def client() -> AsyncIterator[RadiusClient]:
    c = await RadiusClient.open("127.0.0.1")
    yield c
    c.close()


def session(session_id: str) -> list[Attribute]:
    """RFC 5176 §3: the attributes that identify the session on the NAS."""
    return [DICT.encode_attr("Acct-Session-Id", session_id), DICT.encode_attr("User-Name", "bob"),
            DICT.encode_attr("Framed-IP-Address", "100.64.0.10"),
            DICT.encode_attr("NAS-IP-Address", "10.0.0.1")]


async def test_disconnect_ack_and_nak(client: RadiusClient) -> None:
    transport, standin, endpoint = await nas()
    try:
        ok = await client.disconnect(endpoint, session("s1"), retry_interval=0.5)
        assert ok.acked and ok.error_cause is None and ok.reply.code == Code.DISCONNECT_ACK
        nak = await client.disconnect(endpoint, session("gone"), retry_interval=0.5)
        assert not nak.acked and nak.error_cause is ErrorCause.SESSION_CONTEXT_NOT_FOUND
        coa = await client.coa(endpoint, [*session("s1"), DICT.encode_attr("Mikrotik-Rate-Limit", "1M/1M")],
                               retry_interval=0.5)
        assert coa.acked and coa.reply.code == Code.COA_ACK
    finally:
        transport.close()
    sent = standin.received[2]
    assert sent.code == Code.COA_REQUEST and sent.get((14988, 8)) == b"1M/1M"
    assert sent.attributes[0][0] == Attr.MESSAGE_AUTHENTICATOR  # RFC 5176 §3.3, BlastRADIUS


async def test_retries_then_timeout(client: RadiusClient) -> None:
    transport, standin, endpoint = await nas(lose=2)
    try:
        ok = await client.disconnect(endpoint, session("s1"), retry_interval=0.2, retries=6)
        assert ok.acked and len(standin.received) >= 3  # (more if a loaded machine is slow)
        # the same datagram each time (RFC 5080 §2.2.1)
        assert len({(p.identifier, p.authenticator) for p in standin.received}) == 1
        standin.lose = 10
        with pytest.raises(UpstreamTimeout):
            await client.coa(endpoint, session("s1"), retry_interval=0.05, retries=1)
    finally:
        transport.close()


async def test_replies_with_the_wrong_secret_are_ignored(client: RadiusClient) -> None:
    transport, standin, endpoint = await nas()
    standin.secret = b"other"  # NAS cannot verify -> no answer; and we would not accept its answer
    try:
        with pytest.raises(UpstreamTimeout):
            await client.disconnect(Endpoint(endpoint.host, endpoint.port, b"other2"), session("s1"),
                                    retry_interval=0.05, retries=0)
    finally:
        transport.close()


def upstream_handler(request: Request) -> Reply:
    """An upstream RADIUS server: bob/hello is accepted with MPPE keys."""
    if request.user_password() != b"hello":
        return request.reply(Code.ACCESS_REJECT, [DICT.encode_attr("Reply-Message", "no")])
    key = encrypt_salted(b"K" * 16, request.client.secret, request.packet.authenticator, b"\x80\x01")
    return request.reply(Code.ACCESS_ACCEPT, [DICT.encode_attr("Class", "upstream"), (MS_MPPE_SEND_KEY, key),
                                              (Attr.PROXY_STATE.value, b"leaked")])


async def test_proxy_with_failover(client: RadiusClient) -> None:
    upstream_secret = b"upstream-secret"
    proxy_side = ClientConfig("proxy", ipaddress.ip_network("127.0.0.1/32"), upstream_secret, True)
    upstream = await start_server("127.0.0.1", 0, ClientTable([proxy_side]), upstream_handler)
    dead_transport, _dead, dead = await nas(lose=1000)  # never answers
    try:
        nas_secret, nas_auth = b"nas-side", bytes(range(16))
        request = Packet(Code.ACCESS_REQUEST, 3, nas_auth, (
            (Attr.USER_NAME.value, b"bob@realm"), (Attr.USER_PASSWORD.value,
                                                    hide_password(b"hello", nas_secret, nas_auth)),
            (Attr.PROXY_STATE.value, b"from-an-earlier-proxy")))
        upstreams = [Endpoint(dead.host, dead.port, upstream_secret),
                     Endpoint(*upstream.address, upstream_secret)]
        reply = await client.proxy(upstreams, request, nas_secret, retry_interval=0.3, retries=2)
        assert reply.code == Code.ACCESS_ACCEPT and reply.upstream == upstreams[1]
        attrs = dict(reply.attributes)
        assert attrs[Attr.CLASS] == b"upstream" and Attr.PROXY_STATE not in attrs
        # the MPPE key was re-encrypted with the NAS's secret and Request Authenticator
        assert decrypt_salted(attrs[MS_MPPE_SEND_KEY], nas_secret, nas_auth) == b"K" * 16
        bad = Packet(Code.ACCESS_REQUEST, 4, nas_auth, ((Attr.USER_NAME.value, b"bob"), (
            Attr.USER_PASSWORD.value, hide_password(b"wrong", nas_secret, nas_auth))))
        assert (await client.proxy(upstreams[1:], bad, nas_secret)).code == Code.ACCESS_REJECT
        with pytest.raises(UpstreamTimeout):
            await client.proxy(upstreams[:1], request, nas_secret, retry_interval=0.05, retries=0)
        with pytest.raises(ClientError):
            await client.proxy(upstreams, Packet(Code.ACCOUNTING_REQUEST, 1, bytes(16)), nas_secret)
    finally:
        dead_transport.close()
        await upstream.close()


@needs_radclient
async def test_radclient_through_our_proxy(client: RadiusClient) -> None:
    """radclient -> front server (realm proxy) -> upstream server, CHAP included."""
    upstream_secret = b"upstream-secret"

    def chap_upstream(request: Request) -> Reply:
        from protocols.radius.auth import chap_challenge, verify_chap
        chap = request.packet.get(Attr.CHAP_PASSWORD)
        ok = (verify_chap(chap, chap_challenge(request.packet.get(Attr.CHAP_CHALLENGE),
                                               request.packet.authenticator), b"hello")
              if chap else request.user_password() == b"hello")
        return request.reply(Code.ACCESS_ACCEPT if ok else Code.ACCESS_REJECT)

    upstream = await start_server("127.0.0.1", 0, ClientTable(
        [ClientConfig("proxy", ipaddress.ip_network("127.0.0.1/32"), upstream_secret)]), chap_upstream)
    endpoint = Endpoint(*upstream.address, upstream_secret)

    async def front(request: Request) -> Reply:
        relayed = await client.proxy([endpoint], request.packet, request.client.secret)
        return Reply(relayed.code, relayed.attributes)

    server = await start_server("127.0.0.1", 0, ClientTable(
        [ClientConfig("lo", ipaddress.ip_network("127.0.0.1/32"), b"testing123")]), front)
    try:
        pap = await radclient(server.address[1], "auth", 'User-Name = "bob", User-Password = "hello"')
        chap = await radclient(server.address[1], "auth", 'User-Name = "bob", CHAP-Password = "hello"')
        wrong = await radclient(server.address[1], "auth", 'User-Name = "bob", CHAP-Password = "nope"')
    finally:
        await server.close()
        await upstream.close()
    got = (pap.received, chap.received, wrong.received)
    assert got == ("Access-Accept", "Access-Accept", "Access-Reject")


class OldUpstream(asyncio.DatagramProtocol):
    """An upstream that answers Access-Request without a Message-Authenticator."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        request = codec.decode_request(data, b"old")
        self.transport.sendto(codec.encode_reply(request, Code.ACCESS_ACCEPT, [], b"old",
                                                 message_authenticator=False), addr)


async def test_blastradius_replies_without_message_authenticator_are_discarded(client: RadiusClient) -> None:
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        OldUpstream, local_addr=("127.0.0.1", 0))
    old = Endpoint("127.0.0.1", transport.get_extra_info("sockname")[1], b"old")
    request = Packet(Code.ACCESS_REQUEST, 1, bytes(16), ((Attr.USER_NAME.value, b"bob"),))
    try:
        with pytest.raises(UpstreamTimeout):
            await client.proxy([old], request, b"nas", retry_interval=0.1, retries=0)
        relaxed = await client.proxy([old], request, b"nas", retry_interval=0.5, retries=4,
                                     require_reply_message_authenticator=False)
        assert relaxed.code == Code.ACCESS_ACCEPT
        with pytest.raises(UpstreamTimeout):
            await client.request(old, Code.ACCESS_REQUEST, [(1, b"bob")], retry_interval=0.1, retries=0)
    finally:
        transport.close()
    assert client._protocol.rejected >= 2
