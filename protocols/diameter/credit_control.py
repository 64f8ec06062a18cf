"""Credit-Control (RFC 4006 / RFC 8506, 3GPP TS 32.299 Gy): read a CCR, build a CCA, RAR and ASR.

The application logic (quotas, rating) lives elsewhere; this module only speaks the AVPs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from .avp import Avp
from .base import LocalNode, result
from .constants import (
    CURRENCY_NUMERIC,
    VENDOR_3GPP,
    ApplicationId,
    AvpCode,
    CcRequestType,
    CheckBalanceResult,
    CommandCode,
    FinalUnitAction,
    ReAuthRequestType,
    RedirectAddressType,
    TgppAvpCode,
)
from .dictionary import make_avp
from .errors import InvalidAvpLength, InvalidAvpValue
from .message import Message

A = AvpCode
G = TgppAvpCode


@dataclass(frozen=True, slots=True)
class ServiceUnits:
    """Requested/Granted/Used-Service-Unit contents (RFC 4006 §8.17-8.19)."""

    total_octets: int | None = None
    input_octets: int | None = None
    output_octets: int | None = None
    time: int | None = None  # CC-Time, seconds
    service_specific_units: int | None = None

    def __post_init__(self) -> None:
        for name in ("total_octets", "input_octets", "output_octets", "service_specific_units"):
            v = getattr(self, name)
            if v is not None and not 0 <= v < 1 << 64:
                raise ValueError(f"{name} must fit Unsigned64")
        if self.time is not None and not 0 <= self.time < 1 << 32:
            raise ValueError("time must fit Unsigned32")

    @classmethod
    def from_avp(cls, avp: Avp) -> ServiceUnits:
        if not avp.avps:  # walk the children once (an empty RSU is common)
            return cls()
        return cls(avp.get_u64(A.CC_TOTAL_OCTETS), avp.get_u64(A.CC_INPUT_OCTETS),
                   avp.get_u64(A.CC_OUTPUT_OCTETS), avp.get_u32(A.CC_TIME),
                   avp.get_u64(A.CC_SERVICE_SPECIFIC_UNITS))

    def to_avp(self, code: AvpCode, *extra: Avp) -> Avp:
        kids = list(extra)
        if self.time is not None:
            kids.append(make_avp(A.CC_TIME, self.time))
        for c, v in ((A.CC_TOTAL_OCTETS, self.total_octets), (A.CC_INPUT_OCTETS, self.input_octets),
                     (A.CC_OUTPUT_OCTETS, self.output_octets),
                     (A.CC_SERVICE_SPECIFIC_UNITS, self.service_specific_units)):
            if v is not None:
                kids.append(make_avp(c, v))
        return make_avp(code, kids)


@dataclass(frozen=True, slots=True)
class UsedUnits:
    units: ServiceUnits
    reporting_reason: int | None = None  # 3GPP Reporting-Reason inside Used-Service-Unit


@dataclass(frozen=True, slots=True)
class ServiceRequest:
    """One Multiple-Services-Credit-Control of a CCR (RFC 4006 §8.16)."""

    rating_group: int | None
    service_identifiers: tuple[int, ...] = ()
    requested: ServiceUnits | None = None  # None: no Requested-Service-Unit (no more quota asked)
    used: tuple[UsedUnits, ...] = ()
    reporting_reasons: tuple[int, ...] = ()  # at MSCC level (TS 32.299 §7.2.175)


@dataclass(frozen=True, slots=True)
class CreditControlRequest:
    """What Jet reads from a CCR. Build with `read_ccr(message)`."""

    session_id: str
    origin_host: str
    origin_realm: str
    request_type: CcRequestType
    request_number: int
    service_context_id: str
    subscription_ids: tuple[tuple[int, str], ...] = ()
    services: tuple[ServiceRequest, ...] = ()
    requested: ServiceUnits | None = None  # single-service RSU at top level
    used: tuple[ServiceUnits, ...] = ()  # single-service USU at top level
    multiple_services: bool = False
    event_timestamp: datetime | None = None
    user_name: str | None = None
    termination_cause: int | None = None
    requested_action: int | None = None
    called_station_id: str | None = None  # from PS-Information (APN)
    calling_party: str | None = None  # from IMS-Information: Calling-Party-Address (a SIP or tel URI)
    called_party: str | None = None  # and Called-Party-Address
    message: Message | None = field(default=None, compare=False, repr=False)


def _uint(a: Avp, size: int) -> int:
    if len(a.data) != size:
        raise InvalidAvpLength(f"AVP {a.code} needs {size} octets", failed_avp=a)
    return int.from_bytes(a.data, "big")


def _int32(a: Avp) -> int:
    if len(a.data) != 4:
        raise InvalidAvpLength(f"AVP {a.code} needs 4 octets", failed_avp=a)
    return int.from_bytes(a.data, "big", signed=True)


def _text(a: Avp) -> str:
    try:
        return a.data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidAvpValue(f"AVP {a.code} is not UTF-8", failed_avp=a) from None


# Single pass over each AVP list (a dispatch per AVP beats one search per field on this hot path);
# for single-valued AVPs the first occurrence wins, as with Message.find().
_CC_TOTAL, _CC_IN, _CC_OUT, _CC_TIME, _CC_SSU = (int(A.CC_TOTAL_OCTETS), int(A.CC_INPUT_OCTETS),
                                                  int(A.CC_OUTPUT_OCTETS), int(A.CC_TIME),
                                                  int(A.CC_SERVICE_SPECIFIC_UNITS))
_UNIT_SLOT = {_CC_TOTAL: (0, 8), _CC_IN: (1, 8), _CC_OUT: (2, 8), _CC_TIME: (3, 4), _CC_SSU: (4, 8)}


def _units(avp: Avp) -> tuple[ServiceUnits, int | None]:
    """(the units in a *-Service-Unit AVP, the 3GPP Reporting-Reason inside it if any)."""
    values: list[int | None] = [None, None, None, None, None]
    reason = None
    for a in avp.avps:
        if a.vendor_id == 0:
            slot = _UNIT_SLOT.get(a.code)
            if slot is not None and values[slot[0]] is None:
                values[slot[0]] = _uint(a, slot[1])
        elif a.code == G.REPORTING_REASON and a.vendor_id == VENDOR_3GPP and reason is None:
            reason = _int32(a)
    return ServiceUnits(*values), reason


def _read_mscc(m: Avp) -> ServiceRequest:
    rating_group = None
    service_ids: list[int] = []
    requested = None
    used: list[UsedUnits] = []
    reasons: list[int] = []
    for a in m.avps:
        code = a.code
        if a.vendor_id == 0:
            if code == A.RATING_GROUP:
                if rating_group is None:
                    rating_group = _uint(a, 4)
            elif code == A.SERVICE_IDENTIFIER:
                service_ids.append(_uint(a, 4))
            elif code == A.USED_SERVICE_UNIT:
                used.append(UsedUnits(*_units(a)))
            elif code == A.REQUESTED_SERVICE_UNIT and requested is None:
                requested = _units(a)[0]
        elif code == G.REPORTING_REASON and a.vendor_id == VENDOR_3GPP:
            reasons.append(_int32(a))
    return ServiceRequest(rating_group, tuple(service_ids), requested, tuple(used), tuple(reasons))


_TOP_TEXT = {int(A.SESSION_ID): 0, int(A.ORIGIN_HOST): 1, int(A.ORIGIN_REALM): 2,
             int(A.SERVICE_CONTEXT_ID): 3, int(A.USER_NAME): 4}
_TOP_INT32 = {int(A.CC_REQUEST_TYPE): 0, int(A.MULTIPLE_SERVICES_INDICATOR): 1,
              int(A.TERMINATION_CAUSE): 2, int(A.REQUESTED_ACTION): 3}


def read_ccr(msg: Message) -> CreditControlRequest:
    """Extract the credit-control view of a CCR. Raises InvalidAvpValue/InvalidAvpLength (5004/5014)."""
    text: list[str | None] = [None] * 5
    ints: list[int | None] = [None] * 4
    request_number = None
    subs: list[tuple[int, str]] = []
    services: list[ServiceRequest] = []
    requested = None
    used: list[ServiceUnits] = []
    apn = None
    ims: Avp | None = None
    for a in msg.avps:
        code = a.code
        if a.vendor_id == 0:
            if code in _TOP_TEXT:
                if text[_TOP_TEXT[code]] is None:
                    text[_TOP_TEXT[code]] = _text(a)
            elif code in _TOP_INT32:
                if ints[_TOP_INT32[code]] is None:
                    ints[_TOP_INT32[code]] = _int32(a)
            elif code == A.MULTIPLE_SERVICES_CREDIT_CONTROL:
                services.append(_read_mscc(a))
            elif code == A.CC_REQUEST_NUMBER:
                if request_number is None:
                    request_number = _uint(a, 4)
            elif code == A.SUBSCRIPTION_ID:
                kind, data = a.get_i32(A.SUBSCRIPTION_ID_TYPE), a.get_str(A.SUBSCRIPTION_ID_DATA)
                if kind is not None and data is not None:
                    subs.append((kind, data))
            elif code == A.REQUESTED_SERVICE_UNIT:
                if requested is None:
                    requested = _units(a)[0]
            elif code == A.USED_SERVICE_UNIT:
                used.append(_units(a)[0])
        elif code == G.SERVICE_INFORMATION and a.vendor_id == VENDOR_3GPP and apn is None and ims is None:
            ps = a.find(G.PS_INFORMATION)
            if ps is not None:
                apn = ps.get_str(A.CALLED_STATION_ID)
            ims = a.find(G.IMS_INFORMATION)
    rtype = ints[0]
    try:
        request_type = CcRequestType(rtype if rtype is not None else 0)
    except ValueError:
        raise InvalidAvpValue(f"CC-Request-Type {rtype}", failed_avp=msg.find(A.CC_REQUEST_TYPE)) from None
    return CreditControlRequest(
        session_id=text[0] or "", origin_host=text[1] or "", origin_realm=text[2] or "",
        request_type=request_type, request_number=request_number or 0, service_context_id=text[3] or "",
        subscription_ids=tuple(subs), services=tuple(services), requested=requested, used=tuple(used),
        multiple_services=ints[1] == 1, event_timestamp=msg.get_time(A.EVENT_TIMESTAMP), user_name=text[4],
        termination_cause=ints[2], requested_action=ints[3], called_station_id=apn,
        calling_party=ims.get_str(G.CALLING_PARTY_ADDRESS) if ims is not None else None,
        called_party=ims.get_str(G.CALLED_PARTY_ADDRESS) if ims is not None else None, message=msg)


@dataclass(frozen=True, slots=True)
class FinalUnit:
    """Final-Unit-Indication (RFC 4006 §8.34): what the gateway does when the last grant is used."""

    action: FinalUnitAction
    redirect_address_type: RedirectAddressType | None = None
    redirect_address: str | None = None

    def __post_init__(self) -> None:
        if self.action is FinalUnitAction.REDIRECT and not self.redirect_address:
            # RFC 4006 §8.34: with Final-Unit-Action REDIRECT the Redirect-Server AVP is required.
            raise ValueError("REDIRECT needs a redirect address")

    def to_avp(self) -> Avp:
        kids = [make_avp(A.FINAL_UNIT_ACTION, self.action)]
        if self.redirect_address:
            kind = self.redirect_address_type
            if kind is None:
                kind = RedirectAddressType.URL
            server = [make_avp(A.REDIRECT_ADDRESS_TYPE, kind),
                      make_avp(A.REDIRECT_SERVER_ADDRESS, self.redirect_address)]
            kids.append(make_avp(A.REDIRECT_SERVER, server))
        return make_avp(A.FINAL_UNIT_INDICATION, kids)


@dataclass(frozen=True, slots=True)
class ServiceGrant:
    """One Multiple-Services-Credit-Control of a CCA."""

    rating_group: int | None
    result_code: int | None = None
    granted: ServiceUnits | None = None
    validity_time: int | None = None
    final_unit: FinalUnit | None = None
    service_identifiers: tuple[int, ...] = ()
    quota_holding_time: int | None = None
    volume_quota_threshold: int | None = None
    time_quota_threshold: int | None = None

    def to_avp(self) -> Avp:
        kids = []
        if self.granted is not None:
            kids.append(self.granted.to_avp(A.GRANTED_SERVICE_UNIT))
        kids += [make_avp(A.SERVICE_IDENTIFIER, s) for s in self.service_identifiers]
        if self.rating_group is not None:
            kids.append(make_avp(A.RATING_GROUP, self.rating_group))
        if self.validity_time is not None:
            kids.append(make_avp(A.VALIDITY_TIME, self.validity_time))
        if self.result_code is not None:
            kids.append(result(self.result_code))
        if self.final_unit is not None:
            kids.append(self.final_unit.to_avp())
        for code, value in ((G.TIME_QUOTA_THRESHOLD, self.time_quota_threshold),
                            (G.VOLUME_QUOTA_THRESHOLD, self.volume_quota_threshold),
                            (G.QUOTA_HOLDING_TIME, self.quota_holding_time)):
            if value is not None:
                kids.append(make_avp(code, value))
        return make_avp(A.MULTIPLE_SERVICES_CREDIT_CONTROL, kids)


_AUTH_APP_CC = make_avp(A.AUTH_APPLICATION_ID, ApplicationId.CREDIT_CONTROL)
_ECHOED = frozenset({int(A.CC_REQUEST_TYPE), int(A.CC_REQUEST_NUMBER)})


def build_ccr(node: LocalNode, *, session_id: str, destination_realm: str, request_type: CcRequestType,
              request_number: int, subscription_ids: Sequence[tuple[int, str]] = (),
              services: Sequence[ServiceRequest] = (), service_context_id: str = "32251@3gpp.org",
              destination_host: str | None = None, event_timestamp: datetime | None = None) -> Message:
    """A Credit-Control-Request (Jet as a client, tests, load generators): the inverse of read_ccr.

    RFC 4006 §3.1: "<CCR> ::= < Diameter Header: 272, REQ, PXY > < Session-Id > { Origin-Host }
    { Origin-Realm } { Destination-Realm } { Auth-Application-Id } { Service-Context-Id }
    { CC-Request-Type } { CC-Request-Number } [ Destination-Host ] ... [ Event-Timestamp ]
    *[ Subscription-Id ] ... [ Multiple-Services-Indicator ] *[ Multiple-Services-Credit-Control ]"."""
    avps = [make_avp(A.SESSION_ID, session_id), *node.identity_avps(),
            make_avp(A.DESTINATION_REALM, destination_realm),
            make_avp(A.AUTH_APPLICATION_ID, ApplicationId.CREDIT_CONTROL),
            make_avp(A.SERVICE_CONTEXT_ID, service_context_id), make_avp(A.CC_REQUEST_TYPE, request_type),
            make_avp(A.CC_REQUEST_NUMBER, request_number)]
    if destination_host is not None:
        avps.append(make_avp(A.DESTINATION_HOST, destination_host))
    if event_timestamp is not None:
        avps.append(make_avp(A.EVENT_TIMESTAMP, event_timestamp))
    avps += [make_avp(A.SUBSCRIPTION_ID, [make_avp(A.SUBSCRIPTION_ID_TYPE, kind),
                                          make_avp(A.SUBSCRIPTION_ID_DATA, data)])
             for kind, data in subscription_ids]
    if services:
        avps.append(make_avp(A.MULTIPLE_SERVICES_INDICATOR, 1))
    for svc in services:
        kids = [] if svc.requested is None else [svc.requested.to_avp(A.REQUESTED_SERVICE_UNIT)]
        for u in svc.used:
            reason = [] if u.reporting_reason is None else [make_avp(G.REPORTING_REASON, u.reporting_reason)]
            kids.append(u.units.to_avp(A.USED_SERVICE_UNIT, *reason))
        kids += [make_avp(A.SERVICE_IDENTIFIER, s) for s in svc.service_identifiers]
        if svc.rating_group is not None:
            kids.append(make_avp(A.RATING_GROUP, svc.rating_group))
        kids += [make_avp(G.REPORTING_REASON, r) for r in svc.reporting_reasons]
        avps.append(make_avp(A.MULTIPLE_SERVICES_CREDIT_CONTROL, kids))
    return Message(CommandCode.CREDIT_CONTROL, ApplicationId.CREDIT_CONTROL, tuple(avps), request=True,
                   proxiable=True)


def build_cca(node: LocalNode, request: Message, result_code: int, services: Sequence[ServiceGrant] = (),
              *, granted: ServiceUnits | None = None, validity_time: int | None = None,
              final_unit: FinalUnit | None = None, extra: Iterable[Avp] = ()) -> Message:
    """A Credit-Control-Answer. RFC 4006 §3.2: "<CCA> ::= < Diameter Header: 272, PXY > < Session-Id >
    { Result-Code } { Origin-Host } { Origin-Realm } { Auth-Application-Id } { CC-Request-Type }
    { CC-Request-Number } ... [ Granted-Service-Unit ] *[ Multiple-Services-Credit-Control ] ...
    [ Validity-Time ] ... [ Final-Unit-Indication ]"."""
    avps = [result(result_code), *node.identity_avps(), _AUTH_APP_CC]
    avps += [a for a in request.avps if a.code in _ECHOED and a.vendor_id == 0]
    if granted is not None:
        avps.append(granted.to_avp(A.GRANTED_SERVICE_UNIT))
    avps += [s.to_avp() for s in services]
    if validity_time is not None:
        avps.append(make_avp(A.VALIDITY_TIME, validity_time))
    if final_unit is not None:
        avps.append(final_unit.to_avp())
    avps += list(extra)
    return Message.answer_to(request, avps)


def cost_information(amount: Decimal, currency: str, cost_unit: str | None = None) -> Avp:
    """Cost-Information (RFC 4006 §8.7): the amount as Unit-Value (Value-Digits x 10^Exponent) in
    the currency's ISO 4217 numeric Currency-Code; KeyError for a currency not in CURRENCY_NUMERIC."""
    sign, digits, exponent = amount.normalize().as_tuple()
    value = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    unit = [make_avp(A.VALUE_DIGITS, value)]
    if isinstance(exponent, int) and exponent:
        unit.append(make_avp(A.EXPONENT, exponent))
    kids = [make_avp(A.UNIT_VALUE, unit), make_avp(A.CURRENCY_CODE, CURRENCY_NUMERIC[currency])]
    if cost_unit:
        kids.append(make_avp(A.COST_UNIT, cost_unit))
    return make_avp(A.COST_INFORMATION, kids)


def check_balance_result(enough: bool) -> Avp:
    """Check-Balance-Result (RFC 4006 §8.6) for a CCR-Event with Requested-Action CHECK_BALANCE."""
    return make_avp(A.CHECK_BALANCE_RESULT,
                    CheckBalanceResult.ENOUGH_CREDIT if enough else CheckBalanceResult.NO_CREDIT)


def build_rar(node: LocalNode, *, session_id: str, destination_host: str, destination_realm: str,
              rating_groups: Sequence[int] = (),
              re_auth_type: ReAuthRequestType = ReAuthRequestType.AUTHORIZE_ONLY) -> Message:
    """Re-Auth-Request asking the gateway to re-authorise now (e.g. after a top-up).

    RFC 4006 §3.3: "<RAR> ::= < Diameter Header: 258, REQ, PXY > < Session-Id > { Origin-Host }
    { Origin-Realm } { Destination-Realm } { Destination-Host } { Auth-Application-Id }
    { Re-Auth-Request-Type } ... [ G-S-U-Pool-Identifier ] [ Service-Identifier ] [ Rating-Group ]"."""
    avps = [make_avp(A.SESSION_ID, session_id), *node.identity_avps(),
            make_avp(A.DESTINATION_REALM, destination_realm), make_avp(A.DESTINATION_HOST, destination_host),
            make_avp(A.AUTH_APPLICATION_ID, ApplicationId.CREDIT_CONTROL),
            make_avp(A.RE_AUTH_REQUEST_TYPE, re_auth_type)]
    avps += [make_avp(A.RATING_GROUP, rg) for rg in rating_groups]
    return Message(CommandCode.RE_AUTH, ApplicationId.CREDIT_CONTROL, tuple(avps), request=True,
                   proxiable=True)


def build_asr(node: LocalNode, *, session_id: str, destination_host: str, destination_realm: str) -> Message:
    """Abort-Session-Request (RFC 6733 §8.5.1): end the session now (e.g. account suspended)."""
    avps = (make_avp(A.SESSION_ID, session_id), *node.identity_avps(),
            make_avp(A.DESTINATION_REALM, destination_realm), make_avp(A.DESTINATION_HOST, destination_host),
            make_avp(A.AUTH_APPLICATION_ID, ApplicationId.CREDIT_CONTROL))
    return Message(CommandCode.ABORT_SESSION, ApplicationId.CREDIT_CONTROL, avps, request=True,
                   proxiable=True)
