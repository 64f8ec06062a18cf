"""A typical Gy CCR-Update as a PGW sends it (two rating groups, PS-Information)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

from protocols.diameter.avp import Avp
from protocols.diameter.constants import (
    ApplicationId,
    AvpCode,
    CcRequestType,
    CommandCode,
    SubscriptionIdType,
    TgppAvpCode,
)
from protocols.diameter.dictionary import make_avp as m
from protocols.diameter.message import Message

A = AvpCode
G = TgppAvpCode


def mscc(rating_group: int, used_octets: int) -> Avp:
    return m(A.MULTIPLE_SERVICES_CREDIT_CONTROL, [
        m(A.REQUESTED_SERVICE_UNIT, []),
        m(A.USED_SERVICE_UNIT, [
            m(A.CC_TIME, 300),
            m(A.CC_TOTAL_OCTETS, used_octets),
            m(A.CC_INPUT_OCTETS, used_octets // 4),
            m(A.CC_OUTPUT_OCTETS, used_octets - used_octets // 4),
        ]),
        m(A.RATING_GROUP, rating_group),
        m(A.SERVICE_IDENTIFIER, 1),
        m(G.REPORTING_REASON, 0),
    ])


def ccr_update(hop_by_hop: int = 1, end_to_end: int = 1, number: int = 1) -> Message:
    ps = m(G.PS_INFORMATION, [
        m(G.TGPP_CHARGING_ID, b"\x12\x34\x56\x78"),
        m(G.TGPP_PDP_TYPE, 0),
        m(G.PDP_ADDRESS, ipaddress.ip_address("10.45.0.17")),
        m(G.SGSN_ADDRESS, ipaddress.ip_address("192.0.2.10")),
        m(G.GGSN_ADDRESS, ipaddress.ip_address("192.0.2.20")),
        m(G.TGPP_IMSI_MCC_MNC, "26201"),
        m(G.TGPP_GGSN_MCC_MNC, "26201"),
        m(G.TGPP_NSAPI, b"5"),
        m(A.CALLED_STATION_ID, "internet.example"),
        m(G.TGPP_SELECTION_MODE, "0"),
        m(G.TGPP_CHARGING_CHARACTERISTICS, "0800"),
        m(G.TGPP_SGSN_MCC_MNC, "26201"),
        m(G.TGPP_MS_TIMEZONE, b"\x40\x00"),
        m(G.TGPP_USER_LOCATION_INFO, bytes.fromhex("8262f210aaaa62f21000abcdef")),
        m(G.TGPP_RAT_TYPE, b"\x06"),
    ])
    avps = [
        m(A.SESSION_ID, "pgw1.example.net;1732600000;42;17"),
        m(A.ORIGIN_HOST, "pgw1.example.net"),
        m(A.ORIGIN_REALM, "example.net"),
        m(A.DESTINATION_REALM, "example.net"),
        m(A.AUTH_APPLICATION_ID, ApplicationId.CREDIT_CONTROL),
        m(A.SERVICE_CONTEXT_ID, "32251@3gpp.org"),
        m(A.CC_REQUEST_TYPE, CcRequestType.UPDATE_REQUEST),
        m(A.CC_REQUEST_NUMBER, number),
        m(A.DESTINATION_HOST, "jet.example.net"),
        m(A.ORIGIN_STATE_ID, 1732600000),
        m(A.EVENT_TIMESTAMP, datetime(2026, 11, 26, 6, 0, tzinfo=UTC)),
        m(A.SUBSCRIPTION_ID, [m(A.SUBSCRIPTION_ID_TYPE, SubscriptionIdType.END_USER_E164),
                              m(A.SUBSCRIPTION_ID_DATA, "491701234567")]),
        m(A.SUBSCRIPTION_ID, [m(A.SUBSCRIPTION_ID_TYPE, SubscriptionIdType.END_USER_IMSI),
                              m(A.SUBSCRIPTION_ID_DATA, "262011234567890")]),
        m(A.MULTIPLE_SERVICES_INDICATOR, 1),
        mscc(10, 5_000_000),
        mscc(20, 120_000),
        m(A.USER_EQUIPMENT_INFO, [m(A.USER_EQUIPMENT_INFO_TYPE, 0),
                                  m(A.USER_EQUIPMENT_INFO_VALUE, b"3569870123456789")]),
        m(G.SERVICE_INFORMATION, [ps]),
    ]
    return Message(CommandCode.CREDIT_CONTROL, ApplicationId.CREDIT_CONTROL, tuple(avps), request=True,
                   proxiable=True, hop_by_hop=hop_by_hop, end_to_end=end_to_end)
