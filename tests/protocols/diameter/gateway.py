"""The independent peer: messages built and parsed by python-diameter (import name `diameter`)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from diameter.message import Message as PdMessage
from diameter.message.avp.grouped import (
    MultipleServicesCreditControl,
    RequestedServiceUnit,
    SubscriptionId,
    UsedServiceUnit,
)
from diameter.message.commands import (
    CapabilitiesExchangeRequest,
    DeviceWatchdogRequest,
    DisconnectPeerRequest,
)
from diameter.message.commands.credit_control import CreditControlRequest

GW_HOST = "pgw1.example.net"
GW_REALM = "example.net"
_ids = itertools.count(1000)
WAIT = 5.0  # seconds a test waits for the server before failing


def _ids_on(msg: Any, hop_by_hop: int | None = None, end_to_end: int | None = None) -> Any:
    n = next(_ids)
    msg.header.hop_by_hop_identifier = hop_by_hop if hop_by_hop is not None else n
    msg.header.end_to_end_identifier = end_to_end if end_to_end is not None else n
    return msg


def cer(origin_host: str = GW_HOST, applications: tuple[int, ...] = (4,)) -> Any:
    m = _ids_on(CapabilitiesExchangeRequest())
    m.origin_host = origin_host.encode()
    m.origin_realm = GW_REALM.encode()
    m.host_ip_address = ["127.0.0.1"]
    m.vendor_id = 10415
    m.product_name = "test-pgw"
    m.supported_vendor_id = [10415]
    m.auth_application_id = list(applications)
    return m


def dwr() -> Any:
    m = _ids_on(DeviceWatchdogRequest())
    m.origin_host = GW_HOST.encode()
    m.origin_realm = GW_REALM.encode()
    return m


def dpr() -> Any:
    m = _ids_on(DisconnectPeerRequest())
    m.origin_host = GW_HOST.encode()
    m.origin_realm = GW_REALM.encode()
    m.disconnect_cause = 0
    return m


def ccr_initial(session_id: str = "pgw1.example.net;1;1", *, rating_groups: tuple[int, ...] = (10, 20),
                hop_by_hop: int | None = None, end_to_end: int | None = None, request_type: int = 1,
                number: int = 0) -> Any:
    m = _ids_on(CreditControlRequest(), hop_by_hop, end_to_end)
    m.header.application_id = 4  # python-diameter leaves the header's Application-Id at 0
    m.session_id = session_id
    m.origin_host = GW_HOST.encode()
    m.origin_realm = GW_REALM.encode()
    m.destination_realm = b"example.net"
    m.auth_application_id = 4
    m.service_context_id = "32251@3gpp.org"
    m.cc_request_type = request_type
    m.cc_request_number = number
    m.subscription_id = [SubscriptionId(subscription_id_type=0, subscription_id_data="491701234567")]
    m.multiple_services_indicator = 1
    m.multiple_services_credit_control = [
        MultipleServicesCreditControl(requested_service_unit=RequestedServiceUnit(cc_total_octets=1_000_000),
                                      used_service_unit=[UsedServiceUnit(cc_total_octets=4096, cc_time=30)]
                                      if request_type == 2 else [],
                                      rating_group=rg)
        for rg in rating_groups]
    return m


class RawGateway:
    """A gateway over a plain TCP socket: python-diameter builds and parses, we only frame bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int) -> RawGateway:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    def send(self, msg: Any) -> None:
        self.writer.write(msg.as_bytes() if not isinstance(msg, bytes) else msg)

    async def recv_bytes(self) -> bytes:
        async with asyncio.timeout(WAIT):
            head = await self.reader.readexactly(4)
            return head + await self.reader.readexactly(int.from_bytes(head[1:], "big") - 4)

    async def recv(self) -> Any:
        return PdMessage.from_bytes(await self.recv_bytes())

    async def closed_by_peer(self) -> bool:
        async with asyncio.timeout(WAIT):
            return await self.reader.read(1) == b""

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass
