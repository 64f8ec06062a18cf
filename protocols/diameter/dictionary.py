"""The dictionary: AVP types and flags (RFC 6733 §4.5, RFC 4006 §8, TS 32.299 §7.2) and commands.

Only what Jet reads or writes is here. An AVP absent from the dictionary is "unknown": harmless
when its M bit is clear, DIAMETER_AVP_UNSUPPORTED (5001) when set (RFC 6733 §4.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum

from .avp import Avp, vendor_of
from .constants import (
    AVP_FLAG_MANDATORY,
    VENDOR_3GPP,
    ApplicationId,
    AuthSessionState,
    AvpCode,
    CcRequestType,
    CommandCode,
    DisconnectCause,
    FinalUnitAction,
    MultipleServicesIndicator,
    ReAuthRequestType,
    RedirectAddressType,
    ReportingReason,
    RequestedAction,
    SubscriptionIdType,
    TerminationCause,
    TgppAvpCode,
)
from .values import AvpType, decode_value, encode_value

T = AvpType
A = AvpCode
G = TgppAvpCode


@dataclass(frozen=True, slots=True)
class AvpDef:
    code: int
    vendor_id: int
    name: str
    avp_type: AvpType
    mandatory: bool = True  # whether we set the M bit when sending
    enum: type[IntEnum] | None = None


_IETF: list[tuple[AvpCode, AvpType, bool, type[IntEnum] | None]] = [
    (A.USER_NAME, T.UTF8_STRING, True, None),
    (A.CLASS, T.OCTET_STRING, True, None),
    (A.SESSION_TIMEOUT, T.UNSIGNED32, True, None),
    (A.CALLED_STATION_ID, T.UTF8_STRING, True, None),
    (A.CALLING_STATION_ID, T.UTF8_STRING, True, None),
    (A.PROXY_STATE, T.OCTET_STRING, True, None),
    (A.ACCT_SESSION_ID, T.OCTET_STRING, True, None),
    (A.ACCT_MULTI_SESSION_ID, T.UTF8_STRING, True, None),
    (A.EVENT_TIMESTAMP, T.TIME, True, None),
    (A.ACCT_INTERIM_INTERVAL, T.UNSIGNED32, True, None),
    (A.HOST_IP_ADDRESS, T.ADDRESS, True, None),
    (A.AUTH_APPLICATION_ID, T.UNSIGNED32, True, None),
    (A.ACCT_APPLICATION_ID, T.UNSIGNED32, True, None),
    (A.VENDOR_SPECIFIC_APPLICATION_ID, T.GROUPED, True, None),
    (A.REDIRECT_HOST_USAGE, T.ENUMERATED, True, None),
    (A.REDIRECT_MAX_CACHE_TIME, T.UNSIGNED32, True, None),
    (A.SESSION_ID, T.UTF8_STRING, True, None),
    (A.ORIGIN_HOST, T.DIAMETER_IDENTITY, True, None),
    (A.SUPPORTED_VENDOR_ID, T.UNSIGNED32, True, None),
    (A.VENDOR_ID, T.UNSIGNED32, True, None),
    (A.FIRMWARE_REVISION, T.UNSIGNED32, False, None),
    (A.RESULT_CODE, T.UNSIGNED32, True, None),
    (A.PRODUCT_NAME, T.UTF8_STRING, False, None),
    (A.SESSION_BINDING, T.UNSIGNED32, True, None),
    (A.SESSION_SERVER_FAILOVER, T.ENUMERATED, True, None),
    (A.MULTI_ROUND_TIME_OUT, T.UNSIGNED32, True, None),
    (A.DISCONNECT_CAUSE, T.ENUMERATED, True, DisconnectCause),
    (A.AUTH_REQUEST_TYPE, T.ENUMERATED, True, None),
    (A.AUTH_GRACE_PERIOD, T.UNSIGNED32, True, None),
    (A.AUTH_SESSION_STATE, T.ENUMERATED, True, AuthSessionState),
    (A.ORIGIN_STATE_ID, T.UNSIGNED32, True, None),
    (A.FAILED_AVP, T.GROUPED, True, None),
    (A.PROXY_HOST, T.DIAMETER_IDENTITY, True, None),
    (A.ERROR_MESSAGE, T.UTF8_STRING, False, None),
    (A.ROUTE_RECORD, T.DIAMETER_IDENTITY, True, None),
    (A.DESTINATION_REALM, T.DIAMETER_IDENTITY, True, None),
    (A.PROXY_INFO, T.GROUPED, True, None),
    (A.RE_AUTH_REQUEST_TYPE, T.ENUMERATED, True, ReAuthRequestType),
    (A.ACCOUNTING_SUB_SESSION_ID, T.UNSIGNED64, True, None),
    (A.AUTHORIZATION_LIFETIME, T.UNSIGNED32, True, None),
    (A.REDIRECT_HOST, T.DIAMETER_URI, True, None),
    (A.DESTINATION_HOST, T.DIAMETER_IDENTITY, True, None),
    (A.ERROR_REPORTING_HOST, T.DIAMETER_IDENTITY, False, None),
    (A.TERMINATION_CAUSE, T.ENUMERATED, True, TerminationCause),
    (A.ORIGIN_REALM, T.DIAMETER_IDENTITY, True, None),
    (A.EXPERIMENTAL_RESULT, T.GROUPED, True, None),
    (A.EXPERIMENTAL_RESULT_CODE, T.UNSIGNED32, True, None),
    (A.INBAND_SECURITY_ID, T.UNSIGNED32, True, None),
    # RFC 4006 §8 / RFC 8506 §8
    (A.CC_CORRELATION_ID, T.OCTET_STRING, False, None),
    (A.CC_INPUT_OCTETS, T.UNSIGNED64, True, None),
    (A.CC_MONEY, T.GROUPED, True, None),
    (A.CC_OUTPUT_OCTETS, T.UNSIGNED64, True, None),
    (A.CC_REQUEST_NUMBER, T.UNSIGNED32, True, None),
    (A.CC_REQUEST_TYPE, T.ENUMERATED, True, CcRequestType),
    (A.CC_SERVICE_SPECIFIC_UNITS, T.UNSIGNED64, True, None),
    (A.CC_SESSION_FAILOVER, T.ENUMERATED, True, None),
    (A.CC_SUB_SESSION_ID, T.UNSIGNED64, True, None),
    (A.CC_TIME, T.UNSIGNED32, True, None),
    (A.CC_TOTAL_OCTETS, T.UNSIGNED64, True, None),
    (A.CHECK_BALANCE_RESULT, T.ENUMERATED, True, None),
    (A.COST_INFORMATION, T.GROUPED, True, None),
    (A.COST_UNIT, T.UTF8_STRING, True, None),
    (A.CURRENCY_CODE, T.UNSIGNED32, True, None),
    (A.CREDIT_CONTROL, T.ENUMERATED, True, None),
    (A.CREDIT_CONTROL_FAILURE_HANDLING, T.ENUMERATED, True, None),
    (A.DIRECT_DEBITING_FAILURE_HANDLING, T.ENUMERATED, True, None),
    (A.EXPONENT, T.INTEGER32, True, None),
    (A.FINAL_UNIT_INDICATION, T.GROUPED, True, None),
    (A.GRANTED_SERVICE_UNIT, T.GROUPED, True, None),
    (A.RATING_GROUP, T.UNSIGNED32, True, None),
    (A.REDIRECT_ADDRESS_TYPE, T.ENUMERATED, True, RedirectAddressType),
    (A.REDIRECT_SERVER, T.GROUPED, True, None),
    (A.REDIRECT_SERVER_ADDRESS, T.UTF8_STRING, True, None),
    (A.REQUESTED_ACTION, T.ENUMERATED, True, RequestedAction),
    (A.REQUESTED_SERVICE_UNIT, T.GROUPED, True, None),
    (A.RESTRICTION_FILTER_RULE, T.IP_FILTER_RULE, True, None),
    (A.SERVICE_IDENTIFIER, T.UNSIGNED32, True, None),
    (A.SERVICE_PARAMETER_INFO, T.GROUPED, False, None),
    (A.SERVICE_PARAMETER_TYPE, T.UNSIGNED32, False, None),
    (A.SERVICE_PARAMETER_VALUE, T.OCTET_STRING, False, None),
    (A.SUBSCRIPTION_ID, T.GROUPED, True, None),
    (A.SUBSCRIPTION_ID_DATA, T.UTF8_STRING, True, None),
    (A.UNIT_VALUE, T.GROUPED, True, None),
    (A.USED_SERVICE_UNIT, T.GROUPED, True, None),
    (A.VALUE_DIGITS, T.INTEGER64, True, None),
    (A.VALIDITY_TIME, T.UNSIGNED32, True, None),
    (A.FINAL_UNIT_ACTION, T.ENUMERATED, True, FinalUnitAction),
    (A.SUBSCRIPTION_ID_TYPE, T.ENUMERATED, True, SubscriptionIdType),
    (A.TARIFF_TIME_CHANGE, T.TIME, True, None),
    (A.TARIFF_CHANGE_USAGE, T.ENUMERATED, True, None),
    (A.G_S_U_POOL_IDENTIFIER, T.UNSIGNED32, True, None),
    (A.CC_UNIT_TYPE, T.ENUMERATED, True, None),
    (A.MULTIPLE_SERVICES_INDICATOR, T.ENUMERATED, True, MultipleServicesIndicator),
    (A.MULTIPLE_SERVICES_CREDIT_CONTROL, T.GROUPED, True, None),
    (A.G_S_U_POOL_REFERENCE, T.GROUPED, True, None),
    (A.USER_EQUIPMENT_INFO, T.GROUPED, False, None),
    (A.USER_EQUIPMENT_INFO_TYPE, T.ENUMERATED, False, None),
    (A.USER_EQUIPMENT_INFO_VALUE, T.OCTET_STRING, False, None),
    (A.SERVICE_CONTEXT_ID, T.UTF8_STRING, True, None),
]

# 3GPP TS 32.299 §7.2 (flags column "V M" unless noted) and TS 29.061 §16.4.7
_TGPP: list[tuple[TgppAvpCode, AvpType, bool, type[IntEnum] | None]] = [
    (G.TGPP_CHARGING_ID, T.OCTET_STRING, True, None),
    (G.TGPP_PDP_TYPE, T.ENUMERATED, True, None),
    (G.TGPP_IMSI_MCC_MNC, T.UTF8_STRING, True, None),
    (G.TGPP_GGSN_MCC_MNC, T.UTF8_STRING, True, None),
    (G.TGPP_NSAPI, T.OCTET_STRING, True, None),
    (G.TGPP_SELECTION_MODE, T.UTF8_STRING, True, None),
    (G.TGPP_CHARGING_CHARACTERISTICS, T.UTF8_STRING, True, None),
    (G.TGPP_SGSN_MCC_MNC, T.UTF8_STRING, True, None),
    (G.TGPP_RAT_TYPE, T.OCTET_STRING, True, None),
    (G.TGPP_USER_LOCATION_INFO, T.OCTET_STRING, True, None),
    (G.TGPP_MS_TIMEZONE, T.OCTET_STRING, True, None),
    (G.GGSN_ADDRESS, T.ADDRESS, True, None),
    (G.TIME_QUOTA_THRESHOLD, T.UNSIGNED32, True, None),
    (G.VOLUME_QUOTA_THRESHOLD, T.UNSIGNED32, True, None),
    (G.TRIGGER_TYPE, T.ENUMERATED, True, None),
    (G.QUOTA_HOLDING_TIME, T.UNSIGNED32, True, None),
    (G.REPORTING_REASON, T.ENUMERATED, True, ReportingReason),
    (G.CALLING_PARTY_ADDRESS, T.UTF8_STRING, True, None),
    (G.CALLED_PARTY_ADDRESS, T.UTF8_STRING, True, None),
    (G.SERVICE_INFORMATION, T.GROUPED, True, None),
    (G.PS_INFORMATION, T.GROUPED, True, None),
    (G.IMS_INFORMATION, T.GROUPED, True, None),
    (G.QUOTA_CONSUMPTION_TIME, T.UNSIGNED32, True, None),
    (G.CHARGING_RULE_BASE_NAME, T.UTF8_STRING, True, None),
    (G.UNIT_QUOTA_THRESHOLD, T.UNSIGNED32, False, None),
    (G.PDP_ADDRESS, T.ADDRESS, False, None),
    (G.SGSN_ADDRESS, T.ADDRESS, False, None),
    (G.TRIGGER, T.GROUPED, False, None),
    (G.PDN_CONNECTION_CHARGING_ID, T.UNSIGNED32, False, None),
    (G.NODE_ID, T.UTF8_STRING, False, None),
]


def _name(code: IntEnum) -> str:
    name = code.name.replace("_", "-").title().replace("Tgpp-", "3GPP-")
    for old, new in (("Cc-", "CC-"), ("-Ip-", "-IP-"), ("Ps-", "PS-"), ("Avp", "AVP"), ("Ms-", "MS-"),
                     ("Mcc-Mnc", "MCC-MNC"), ("Imsi", "IMSI"), ("Ggsn", "GGSN"), ("Sgsn", "SGSN"),
                     ("Nsapi", "NSAPI"), ("Rat-", "RAT-"), ("Pdp-", "PDP-"), ("Pdn-", "PDN-"),
                     ("-Id", "-Id"), ("Timezone", "TimeZone"), ("Charging-Id", "Charging-Id")):
        name = name.replace(old, new)
    return name


AVPS: Mapping[tuple[int, int], AvpDef] = {
    **{(int(c), 0): AvpDef(int(c), 0, _name(c), t, m, e) for c, t, m, e in _IETF},
    **{(int(c), VENDOR_3GPP): AvpDef(int(c), VENDOR_3GPP, _name(c), t, m, e) for c, t, m, e in _TGPP},
}
GROUPED_KEYS: frozenset[tuple[int, int]] = frozenset(
    k for k, d in AVPS.items() if d.avp_type is AvpType.GROUPED)
# The Grouped AVPs whose insides the decoder checks up front (IETF ones: MSCC, USU, Subscription-Id…).
# 3GPP's Service-Information tree is large and mostly unread; it is checked when something reads it.
CHECKED_GROUPS: frozenset[tuple[int, int]] = frozenset(k for k in GROUPED_KEYS if k[1] == 0)


def lookup(code: int, vendor_id: int | None = None) -> AvpDef | None:
    return AVPS.get((int(code), vendor_of(code, vendor_id)))


def make_avp(code: int, value: object, *, vendor_id: int | None = None, mandatory: bool | None = None) -> Avp:
    """Build an AVP from a Python value, typed and flagged by the dictionary.

    `make_avp(AvpCode.RATING_GROUP, 10)`, `make_avp(TgppAvpCode.QUOTA_HOLDING_TIME, 60)`,
    `make_avp(AvpCode.GRANTED_SERVICE_UNIT, [make_avp(AvpCode.CC_TOTAL_OCTETS, 10**6)])`.
    """
    vendor = vendor_of(code, vendor_id)
    entry = AVPS.get((int(code), vendor))
    if entry is None:
        raise KeyError(f"AVP {int(code)} vendor {vendor} is not in the dictionary")
    flags = AVP_FLAG_MANDATORY if (entry.mandatory if mandatory is None else mandatory) else 0
    if entry.avp_type is AvpType.GROUPED:
        if not isinstance(value, list | tuple):
            raise TypeError(f"{entry.name} is Grouped: give a list of Avp")
        return Avp.grouped(int(code), value, vendor_id=vendor, flags=flags)
    return Avp(int(code), encode_value(entry.avp_type, value), vendor, flags)


def decode_typed(avp: Avp) -> object:
    """The Python value of a known AVP (raw bytes for unknown ones)."""
    entry = AVPS.get((avp.code, avp.vendor_id))
    if entry is None:
        return avp.data
    if entry.avp_type is AvpType.GROUPED:
        return avp.avps
    return decode_value(entry.avp_type, avp.data)


def avp_name(code: int, vendor_id: int = 0) -> str:
    entry = AVPS.get((code, vendor_id))
    return entry.name if entry else f"AVP-{code}" + (f"/{vendor_id}" if vendor_id else "")


@dataclass(frozen=True, slots=True)
class CommandDef:
    code: CommandCode
    application_id: ApplicationId
    name: str
    request_requires: tuple[AvpCode, ...]
    answer_requires: tuple[AvpCode, ...]


_ANS = (A.RESULT_CODE, A.ORIGIN_HOST, A.ORIGIN_REALM)
_SES_ANS = (A.SESSION_ID, *_ANS)
COMMANDS: Mapping[tuple[int, int], CommandDef] = {
    (d.code, d.application_id): d
    for d in (
        # RFC 6733 §5.3.1 CER: "< CER > ::= < Diameter Header: 257, REQ > { Origin-Host } { Origin-Realm }
        #   1* { Host-IP-Address } { Vendor-Id } { Product-Name } ..."
        CommandDef(CommandCode.CAPABILITIES_EXCHANGE, ApplicationId.COMMON_MESSAGES, "Capabilities-Exchange",
                   (A.ORIGIN_HOST, A.ORIGIN_REALM, A.HOST_IP_ADDRESS, A.VENDOR_ID, A.PRODUCT_NAME),
                   (*_ANS, A.HOST_IP_ADDRESS, A.VENDOR_ID, A.PRODUCT_NAME)),
        # RFC 6733 §5.5.1 DWR: "{ Origin-Host } { Origin-Realm } [ Origin-State-Id ]"
        CommandDef(CommandCode.DEVICE_WATCHDOG, ApplicationId.COMMON_MESSAGES, "Device-Watchdog",
                   (A.ORIGIN_HOST, A.ORIGIN_REALM), _ANS),
        # RFC 6733 §5.4.1 DPR: "{ Origin-Host } { Origin-Realm } { Disconnect-Cause }"
        CommandDef(CommandCode.DISCONNECT_PEER, ApplicationId.COMMON_MESSAGES, "Disconnect-Peer",
                   (A.ORIGIN_HOST, A.ORIGIN_REALM, A.DISCONNECT_CAUSE), _ANS),
        # RFC 4006 §3.1 CCR: "< Session-Id > { Origin-Host } { Origin-Realm } { Destination-Realm }
        #   { Auth-Application-Id } { Service-Context-Id } { CC-Request-Type } { CC-Request-Number }"
        CommandDef(CommandCode.CREDIT_CONTROL, ApplicationId.CREDIT_CONTROL, "Credit-Control",
                   (A.SESSION_ID, A.ORIGIN_HOST, A.ORIGIN_REALM, A.DESTINATION_REALM, A.AUTH_APPLICATION_ID,
                    A.SERVICE_CONTEXT_ID, A.CC_REQUEST_TYPE, A.CC_REQUEST_NUMBER),
                   (*_SES_ANS, A.AUTH_APPLICATION_ID, A.CC_REQUEST_TYPE, A.CC_REQUEST_NUMBER)),
        # RFC 6733 §8.3.1 RAR: "< Session-Id > { Origin-Host } { Origin-Realm } { Destination-Realm }
        #   { Destination-Host } { Auth-Application-Id } { Re-Auth-Request-Type }"
        CommandDef(CommandCode.RE_AUTH, ApplicationId.CREDIT_CONTROL, "Re-Auth",
                   (A.SESSION_ID, A.ORIGIN_HOST, A.ORIGIN_REALM, A.DESTINATION_REALM, A.DESTINATION_HOST,
                    A.AUTH_APPLICATION_ID, A.RE_AUTH_REQUEST_TYPE), _SES_ANS),
        # RFC 6733 §8.5.1 ASR: "< Session-Id > { Origin-Host } { Origin-Realm } { Destination-Realm }
        #   { Destination-Host } { Auth-Application-Id }"
        CommandDef(CommandCode.ABORT_SESSION, ApplicationId.CREDIT_CONTROL, "Abort-Session",
                   (A.SESSION_ID, A.ORIGIN_HOST, A.ORIGIN_REALM, A.DESTINATION_REALM, A.DESTINATION_HOST,
                    A.AUTH_APPLICATION_ID), _SES_ANS),
    )
}


def command_name(code: int) -> str:
    for d in COMMANDS.values():
        if d.code == code:
            return d.name
    return f"Command-{code}"


def group(code: int, children: Iterable[Avp]) -> Avp:
    """Shorthand for a Grouped AVP from the dictionary: `group(AvpCode.SUBSCRIPTION_ID, [...])`."""
    return make_avp(code, list(children))
