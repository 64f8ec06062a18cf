"""Builders for base-protocol messages (RFC 6733 §5) and error answers (RFC 6733 §7.2).

`LocalNode` describes this Diameter node once; every builder takes it.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .avp import Avp
from .constants import (
    VENDOR_3GPP,
    ApplicationId,
    AvpCode,
    CommandCode,
    DisconnectCause,
)
from .dictionary import make_avp
from .errors import ProtocolError
from .message import Header, Message
from .values import IpAddress, decode_address

A = AvpCode


@dataclass(frozen=True, slots=True)
class LocalNode:
    """This node's identity and capabilities, as advertised in CER/CEA (RFC 6733 §5.3)."""

    origin_host: str
    origin_realm: str
    host_ip_addresses: tuple[IpAddress, ...] = (ipaddress.IPv4Address("127.0.0.1"),)
    vendor_id: int = 0
    product_name: str = "Jet"
    firmware_revision: int | None = None
    origin_state_id: int = 0
    auth_application_ids: tuple[int, ...] = (ApplicationId.CREDIT_CONTROL,)
    supported_vendor_ids: tuple[int, ...] = (VENDOR_3GPP,)
    # RFC 3539 §3.4.1: Twinit defaults to 30 s (jitter, which it also asks for, is not applied here).
    watchdog_interval: float = 30.0
    cer_timeout: float = 10.0
    dpa_timeout: float = 5.0
    extra_avps: tuple[Avp, ...] = field(default=())
    _identity: tuple[Avp, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("origin_host", "origin_realm"):
            value = getattr(self, name)
            if not value or not value.isascii():
                raise ValueError(f"{name} must be a non-empty ASCII DiameterIdentity")
        if not self.host_ip_addresses:
            raise ValueError("CER/CEA need at least one Host-IP-Address")
        if not self.auth_application_ids:
            raise ValueError("advertise at least one application")
        object.__setattr__(self, "_identity", (make_avp(A.ORIGIN_HOST, self.origin_host),
                                               make_avp(A.ORIGIN_REALM, self.origin_realm)))
        if self.watchdog_interval < 6:
            # RFC 3539 §3.4.1: Twinit must not be set below 6 seconds.
            raise ValueError("watchdog_interval must be at least 6 s (RFC 3539)")

    def identity_avps(self) -> list[Avp]:
        """Origin-Host and Origin-Realm (built once: they go into every message)."""
        return list(self._identity)

    def capability_avps(self) -> list[Avp]:
        avps = [make_avp(A.HOST_IP_ADDRESS, ip) for ip in self.host_ip_addresses]
        avps += [make_avp(A.VENDOR_ID, self.vendor_id), make_avp(A.PRODUCT_NAME, self.product_name)]
        if self.origin_state_id:
            avps.append(make_avp(A.ORIGIN_STATE_ID, self.origin_state_id))
        avps += [make_avp(A.SUPPORTED_VENDOR_ID, v) for v in self.supported_vendor_ids]
        avps += [make_avp(A.AUTH_APPLICATION_ID, a) for a in self.auth_application_ids]
        if self.firmware_revision is not None:
            avps.append(make_avp(A.FIRMWARE_REVISION, self.firmware_revision))
        return avps + list(self.extra_avps)


@functools.lru_cache(maxsize=128)
def result(code: int) -> Avp:
    return make_avp(A.RESULT_CODE, int(code))


def build_cer(node: LocalNode, hop_by_hop: int, end_to_end: int) -> Message:
    # RFC 6733 §5.3.1: "< CER > ::= < Diameter Header: 257, REQ > { Origin-Host } { Origin-Realm }
    #   1* { Host-IP-Address } { Vendor-Id } { Product-Name } [ Origin-State-Id ] * [ Supported-Vendor-Id ]
    #   * [ Auth-Application-Id ] ..."
    return Message(CommandCode.CAPABILITIES_EXCHANGE, 0, (*node.identity_avps(), *node.capability_avps()),
                   request=True, hop_by_hop=hop_by_hop, end_to_end=end_to_end)


def build_cea(node: LocalNode, cer: Message, result_code: int, *, error_message: str | None = None,
              failed_avp: Avp | None = None) -> Message:
    # RFC 6733 §5.3.2: "< CEA > ::= < Diameter Header: 257 > { Result-Code } { Origin-Host } { Origin-Realm }
    #   1* { Host-IP-Address } { Vendor-Id } { Product-Name } ..."
    avps = [result(result_code), *node.identity_avps(), *node.capability_avps()]
    if error_message:
        avps.append(make_avp(A.ERROR_MESSAGE, error_message))
    if failed_avp is not None:
        avps.append(make_avp(A.FAILED_AVP, [failed_avp]))
    return Message.answer_to(cer, avps, error=3000 <= result_code < 4000)


def build_dwr(node: LocalNode, hop_by_hop: int, end_to_end: int) -> Message:
    # RFC 6733 §5.5.1: "< DWR > ::= < Diameter Header: 280, REQ > { Origin-Host } { Origin-Realm }
    #   [ Origin-State-Id ]"
    avps = node.identity_avps()
    if node.origin_state_id:
        avps.append(make_avp(A.ORIGIN_STATE_ID, node.origin_state_id))
    return Message(CommandCode.DEVICE_WATCHDOG, 0, tuple(avps), request=True, hop_by_hop=hop_by_hop,
                   end_to_end=end_to_end)


def build_dwa(node: LocalNode, dwr: Message) -> Message:
    # RFC 6733 §5.5.2: "< DWA > ::= < Diameter Header: 280 > { Result-Code } { Origin-Host } { Origin-Realm }"
    avps = [result(2001), *node.identity_avps()]
    if node.origin_state_id:
        avps.append(make_avp(A.ORIGIN_STATE_ID, node.origin_state_id))
    return Message.answer_to(dwr, avps)


def build_dpr(node: LocalNode, hop_by_hop: int, end_to_end: int,
              cause: DisconnectCause = DisconnectCause.REBOOTING) -> Message:
    # RFC 6733 §5.4.1: "< DPR > ::= < Diameter Header: 282, REQ > { Origin-Host } { Origin-Realm }
    #   { Disconnect-Cause }"
    avps = (*node.identity_avps(), make_avp(A.DISCONNECT_CAUSE, cause))
    return Message(CommandCode.DISCONNECT_PEER, 0, avps,
                   request=True, hop_by_hop=hop_by_hop, end_to_end=end_to_end)


def build_dpa(node: LocalNode, dpr: Message) -> Message:
    # RFC 6733 §5.4.2: "< DPA > ::= < Diameter Header: 282 > { Result-Code } { Origin-Host } { Origin-Realm }"
    return Message.answer_to(dpr, [result(2001), *node.identity_avps()])


# Application answers that must echo these AVPs even when they carry an error (RFC 4006 §3.2 CCA).
_ECHO = (A.AUTH_APPLICATION_ID, A.CC_REQUEST_TYPE, A.CC_REQUEST_NUMBER)


def build_error_answer(node: LocalNode, request: Message | Header, error: ProtocolError) -> Message:
    """The answer to a request we refuse, per RFC 6733 §7.2:

    "< answer-message > ::= < Diameter Header: code, ERR [, PXY] > 0*1< Session-Id > { Origin-Host }
      { Origin-Realm } { Result-Code } [ Origin-State-Id ] [ Error-Message ] [ Error-Reporting-Host ]
      [ Failed-AVP ] [ Experimental-Result ] * [ Proxy-Info ]"
    The E bit is set for Protocol Errors (3xxx) only (§7.1.3); other failures are ordinary answers.
    """
    if isinstance(request, Header):
        request = Message(request.command_code, request.application_id, (), request=True,
                          proxiable=bool(request.flags & 0x40), hop_by_hop=request.hop_by_hop,
                          end_to_end=request.end_to_end)
    avps = [result(error.result_code), *node.identity_avps()]
    if not error.error_bit:
        avps += [a for a in request.avps if a.vendor_id == 0 and a.code in _ECHO]
    avps.append(make_avp(A.ERROR_MESSAGE, error.reason[:200]))
    if error.failed_avp is not None:
        avps.append(make_avp(A.FAILED_AVP, [error.failed_avp]))
    # RFC 6733 §6.2: Proxy-Info AVPs of the request are copied into the answer, in order.
    avps += [a for a in request.avps if a.vendor_id == 0 and a.code == A.PROXY_INFO]
    return Message.answer_to(request, avps, error=error.error_bit)


def advertised_applications(cer: Message) -> set[int]:
    """Applications a CER/CEA advertises: Auth-/Acct-Application-Id at top level or inside
    Vendor-Specific-Application-Id (RFC 6733 §5.3.1)."""
    apps: set[int] = set()
    sources: Sequence[Avp] = cer.avps
    for vsa in cer.find_all(A.VENDOR_SPECIFIC_APPLICATION_ID):
        sources = [*sources, *vsa.avps]
    for a in sources:
        if a.vendor_id == 0 and a.code in (A.AUTH_APPLICATION_ID, A.ACCT_APPLICATION_ID) and len(a.data) == 4:
            apps.add(int.from_bytes(a.data, "big"))
    return apps


def host_addresses(cer: Message) -> list[IpAddress]:
    return [decode_address(a.data) for a in cer.find_all(A.HOST_IP_ADDRESS)]


def strip(avps: Iterable[Avp], code: int) -> list[Avp]:
    return [a for a in avps if not (a.code == code and a.vendor_id == 0)]
