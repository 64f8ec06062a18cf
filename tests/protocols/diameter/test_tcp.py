"""Over real TCP on 127.0.0.1: our server, with python-diameter messages on a raw socket as the gateway."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from protocols.diameter import (
    DiameterClient,
    DiameterServer,
    LocalNode,
    Message,
    PeerConfig,
    PeerInfo,
    ResultCode,
    ServiceGrant,
    ServiceUnits,
    build_asr,
    build_cca,
    build_rar,
    read_ccr,
)
from protocols.diameter.errors import AnswerTimeout, UnknownSessionId
from tests.protocols.diameter import gateway
from tests.protocols.diameter.gateway import RawGateway

NODE = LocalNode("jet.example.net", "example.net", (ipaddress.IPv4Address("127.0.0.1"),))
PEERS = [PeerConfig("pgw1.example.net", ipaddress.IPv4Address("127.0.0.1")),
         PeerConfig("client.example.net")]


@dataclass
class Stub:
    """A credit-control handler that grants 1 MB per rating group and counts its calls."""

    calls: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def handle(self, request: Message, peer: PeerInfo) -> Message:
        ccr = read_ccr(request)
        self.calls.append(ccr.session_id)
        if ccr.session_id.endswith(";crash"):
            raise RuntimeError("bug in the handler")
        if ccr.session_id.endswith(";unknown"):
            raise UnknownSessionId("no such session")
        await asyncio.sleep(0.01)
        grants = [ServiceGrant(s.rating_group, ResultCode.DIAMETER_SUCCESS,
                               ServiceUnits(total_octets=1_000_000), validity_time=600) for s in ccr.services]
        return build_cca(NODE, request, ResultCode.DIAMETER_SUCCESS, grants)


@pytest.fixture
async def served() -> AsyncIterator[tuple[DiameterServer, Stub]]:
    stub = Stub()
    server = DiameterServer(NODE, PEERS, stub.handle, on_error=stub.errors.append)
    await server.start("127.0.0.1", 0)
    yield server, stub
    await server.stop()


async def _opened_gateway(server: DiameterServer) -> RawGateway:
    gw = await RawGateway.connect(server.port)
    gw.send(gateway.cer())
    cea = await gw.recv()
    assert cea.result_code == 2001
    assert cea.origin_host == b"jet.example.net" and cea.auth_application_id == [4]
    assert cea.supported_vendor_id == [10415] and cea.product_name == "Jet"
    return gw


async def test_cer_dwr_ccr_dpr(served: tuple[DiameterServer, Stub]) -> None:
    server, stub = served
    gw = await _opened_gateway(server)
    gw.send(gateway.dwr())
    dwa = await gw.recv()
    assert dwa.header.command_code == 280 and dwa.result_code == 2001
    gw.send(gateway.ccr_initial("pgw1;tcp;1"))
    cca = await gw.recv()
    assert cca.result_code == 2001 and cca.session_id == "pgw1;tcp;1"
    assert [m.rating_group for m in cca.multiple_services_credit_control] == [10, 20]
    assert cca.multiple_services_credit_control[0].granted_service_unit.cc_total_octets == 1_000_000
    gw.send(gateway.dpr())
    dpa = await gw.recv()
    assert dpa.header.command_code == 282 and dpa.result_code == 2001
    await gw.close()
    assert stub.calls == ["pgw1;tcp;1"] and stub.errors == []


async def test_unknown_peer_is_refused_with_3010_and_disconnected(
        served: tuple[DiameterServer, Stub]) -> None:
    server, _ = served
    gw = await RawGateway.connect(server.port)
    gw.send(gateway.cer("intruder.example.net"))
    cea = await gw.recv()
    assert cea.result_code == ResultCode.DIAMETER_UNKNOWN_PEER and cea.header.is_error
    assert await gw.closed_by_peer()
    await gw.close()


async def test_malformed_message_is_answered_counted_and_connection_lives(
        served: tuple[DiameterServer, Stub]) -> None:
    server, stub = served
    gw = await _opened_gateway(server)
    raw = bytearray(gateway.ccr_initial("pgw1;bad;1", hop_by_hop=4242).as_bytes())
    raw[20 + 5:20 + 8] = (4).to_bytes(3, "big")  # Session-Id AVP claims length 4 (< header)
    gw.send(bytes(raw))
    answer = await gw.recv()
    assert answer.header.hop_by_hop_identifier == 4242
    assert answer.result_code == ResultCode.DIAMETER_INVALID_AVP_LENGTH
    assert stub.errors and "InvalidAvpLength" in stub.errors[0]
    gw.send(gateway.ccr_initial("pgw1;good;1"))
    assert (await gw.recv()).result_code == 2001
    await gw.close()
    assert stub.calls == ["pgw1;good;1"]


async def test_retransmission_with_t_flag_is_answered_from_cache_on_another_connection(
        served: tuple[DiameterServer, Stub]) -> None:
    server, stub = served
    first = await _opened_gateway(server)
    first.send(gateway.ccr_initial("pgw1;dup;1", hop_by_hop=1, end_to_end=0xABCDEF))
    original = await first.recv_bytes()
    await first.close()
    second = await _opened_gateway(server)  # failover: a new connection, T flag set, new Hop-by-Hop
    again = gateway.ccr_initial("pgw1;dup;1", hop_by_hop=2, end_to_end=0xABCDEF)
    again.header.is_retransmit = True
    second.send(again)
    replay = await second.recv_bytes()
    assert replay[16:] == original[16:] and replay[12:16] == (2).to_bytes(4, "big")
    await second.close()
    assert stub.calls == ["pgw1;dup;1"]  # the handler ran once


async def test_server_sends_rar_and_asr_and_awaits_answers(served: tuple[DiameterServer, Stub]) -> None:
    server, _ = served
    gw = await _opened_gateway(server)

    async def gateway_answers() -> list[int]:
        codes = []
        for _ in range(2):
            request = await gw.recv()
            answer = request.to_answer()
            answer.session_id = request.session_id
            answer.origin_host = b"pgw1.example.net"
            answer.origin_realm = b"example.net"
            answer.result_code = 2001
            gw.send(answer)
            codes.append(request.header.command_code)
        return codes

    answering = asyncio.create_task(gateway_answers())
    raa = await server.send_request("pgw1.example.net", build_rar(
        NODE, session_id="pgw1;rar;1", destination_host="pgw1.example.net", destination_realm="example.net"))
    asa = await server.send_request("pgw1.example.net", build_asr(
        NODE, session_id="pgw1;rar;1", destination_host="pgw1.example.net", destination_realm="example.net"))
    assert raa.command_code == 258 and raa.result_code == 2001 and not raa.request
    assert asa.command_code == 274 and asa.result_code == 2001
    assert await answering == [258, 274]
    with pytest.raises(AnswerTimeout):
        await server.send_request("pgw1.example.net", build_asr(
            NODE, session_id="x", destination_host="pgw1.example.net", destination_realm="example.net"),
            answer_timeout=0.2)
    await gw.close()


async def test_our_client_against_our_server(served: tuple[DiameterServer, Stub]) -> None:
    server, stub = served
    me = LocalNode("client.example.net", "example.net")
    client = await DiameterClient.connect("127.0.0.1", server.port, me)
    assert client.peer is not None and client.peer.origin_host == "jet.example.net"
    from protocols.diameter.codec import decode_message

    ccr = decode_message(gateway.ccr_initial("client;1;1").as_bytes())
    cca = await client.request(ccr)
    assert cca.result_code == 2001 and cca.session_id == "client;1;1"
    await client.close()
    assert stub.calls == ["client;1;1"]


async def test_handler_errors_become_answers_and_the_connection_lives(
        served: tuple[DiameterServer, Stub]) -> None:
    server, stub = served
    gw = await _opened_gateway(server)
    gw.send(gateway.ccr_initial("pgw1;h;unknown"))
    answer = await gw.recv()
    assert answer.result_code == ResultCode.DIAMETER_UNKNOWN_SESSION_ID and not answer.header.is_error
    gw.send(gateway.ccr_initial("pgw1;h;crash", end_to_end=0x5151))
    answer = await gw.recv()
    assert answer.result_code == ResultCode.DIAMETER_UNABLE_TO_COMPLY
    assert stub.errors == ["handler failed: RuntimeError"]
    # a crash is not cached: the retransmission is processed again
    again = gateway.ccr_initial("pgw1;h;crash", end_to_end=0x5151)
    again.header.is_retransmit = True
    gw.send(again)
    assert (await gw.recv()).result_code == ResultCode.DIAMETER_UNABLE_TO_COMPLY
    assert stub.calls.count("pgw1;h;crash") == 2
    gw.send(gateway.dwr())
    assert (await gw.recv()).result_code == 2001
    await gw.close()


def test_server_and_clients_under_uvloop() -> None:
    """jetd runs on uvloop, whose transports are not asyncio.Transport subclasses: run a server and
    several clients with concurrent requests on a private uvloop loop."""
    import uvloop

    from protocols.diameter.codec import decode_message

    async def scenario() -> int:
        stub = Stub()
        server = DiameterServer(NODE, PEERS, stub.handle, on_error=stub.errors.append)
        await server.start("127.0.0.1", 0)
        me = LocalNode("client.example.net", "example.net")
        clients = [await DiameterClient.connect("127.0.0.1", server.port, me) for _ in range(3)]
        ccr = decode_message(gateway.ccr_initial("uv;1;1").as_bytes())  # same message, fresh ids each send
        answers = await asyncio.gather(*(c.request(ccr) for c in clients for _ in range(20)))
        for c in clients:
            await c.close()
        await server.stop()
        assert stub.errors == []
        return sum(a.result_code == 2001 for a in answers)

    loop = uvloop.new_event_loop()
    try:
        assert loop.run_until_complete(scenario()) == 60
    finally:
        loop.close()
