"""python-diameter's own Node (threads) as the gateway against our server over TCP:
CER/CEA, a CCR, an idle-time DWR/DWA, a RAR from us answered by its application, DPR/DPA on stop."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from diameter.node import Node
from diameter.node.application import SimpleThreadingApplication

from protocols.diameter import (
    DiameterServer,
    LocalNode,
    Message,
    PeerConfig,
    PeerInfo,
    ResultCode,
    ServiceGrant,
    ServiceUnits,
    build_cca,
    build_rar,
    read_ccr,
)
from tests.protocols.diameter import gateway

NODE = LocalNode("jet.example.net", "example.net", (ipaddress.IPv4Address("127.0.0.1"),))


class Gy:
    def __init__(self) -> None:
        self.sessions: list[str] = []
        self.errors: list[str] = []

    async def handle(self, request: Message, peer: PeerInfo) -> Message:
        ccr = read_ccr(request)
        self.sessions.append(ccr.session_id)
        grants = [ServiceGrant(s.rating_group, ResultCode.DIAMETER_SUCCESS, ServiceUnits(total_octets=2048))
                  for s in ccr.services]
        return build_cca(NODE, request, ResultCode.DIAMETER_SUCCESS, grants)


@pytest.fixture
async def server() -> AsyncIterator[tuple[DiameterServer, Gy]]:
    gy = Gy()
    peers = [PeerConfig("pgw1.example.net", ipaddress.IPv4Address("127.0.0.1"))]
    srv = DiameterServer(NODE, peers, gy.handle, on_error=gy.errors.append)
    await srv.start("127.0.0.1", 0)
    yield srv, gy
    await srv.stop()


def _answer_rar(app: Any, request: Any) -> Any:
    answer = app.generate_answer(request)
    answer.result_code = 2001
    return answer


async def test_python_diameter_node_as_gateway(server: tuple[DiameterServer, Gy],
                                               caplog: pytest.LogCaptureFixture) -> None:
    srv, gy = server
    caplog.set_level(logging.INFO, logger="diameter.node")
    node = Node("pgw1.example.net", "example.net", vendor_ids=[10415])
    node.idle_timeout = 1  # send a DWR after the connection idled for more than a second
    node.wakeup_interval = 0.2  # its event loop's select() timeout, so timers are checked often
    peer = node.add_peer(f"aaa://jet.example.net:{srv.port};transport=tcp", "example.net",
                         ip_addresses=["127.0.0.1"], is_persistent=True, is_default=True)
    app = SimpleThreadingApplication(4, is_auth_application=True, request_handler=_answer_rar)
    node.add_application(app, [peer])
    node.start()
    stopped = threading.Event()
    try:
        await asyncio.to_thread(app.wait_for_ready, 5)
        ccr = gateway.ccr_initial("pgw1.example.net;node;1")
        ccr.destination_host = b"jet.example.net"
        cca = await asyncio.to_thread(app.send_request, ccr, 5)
        assert cca.result_code == 2001
        grants = [m.granted_service_unit.cc_total_octets for m in cca.multiple_services_credit_control]
        assert grants == [2048, 2048]

        raa = await srv.send_request("pgw1.example.net", build_rar(
            NODE, session_id="pgw1.example.net;node;1", destination_host="pgw1.example.net",
            destination_realm="example.net"), answer_timeout=5)
        assert raa.command_code == 258 and raa.result_code == 2001

        for _ in range(80):  # idle: its watchdog sends a DWR, we answer
            if any("got DWA" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.1)
        assert any("got DWA" in r.getMessage() for r in caplog.records)
    finally:
        await asyncio.to_thread(lambda: (node.stop(wait_timeout=5), stopped.set()))
    assert stopped.is_set()
    assert any("sending DPR" in r.getMessage() for r in caplog.records)
    for _ in range(30):
        if not srv.connections:
            break
        await asyncio.sleep(0.1)
    assert not srv.connections  # it closed after our DPA
    assert gy.sessions == ["pgw1.example.net;node;1"] and gy.errors == []
