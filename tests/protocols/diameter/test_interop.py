"""Interop with python-diameter, both ways, without sockets."""

from __future__ import annotations

import ipaddress
from decimal import Decimal

import pytest
from diameter.message import Message as PdMessage
from diameter.message.constants import AVP_RESULT_CODE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols.diameter.base import LocalNode, build_cea
from protocols.diameter.codec import decode_message, encode_message
from protocols.diameter.constants import (
    AvpCode,
    CcRequestType,
    FinalUnitAction,
    ResultCode,
    TgppAvpCode,
)
from protocols.diameter.credit_control import (
    FinalUnit,
    ServiceGrant,
    ServiceRequest,
    ServiceUnits,
    UsedUnits,
    build_asr,
    build_cca,
    build_ccr,
    build_rar,
    check_balance_result,
    cost_information,
    read_ccr,
)
from tests.protocols.diameter import gateway

NODE = LocalNode("jet.example.net", "example.net", (ipaddress.IPv4Address("192.0.2.1"),))


def test_ccr_initial_with_two_rating_groups_built_by_python_diameter_decodes() -> None:
    raw = gateway.ccr_initial("pgw1;42;7", rating_groups=(10, 20)).as_bytes()
    msg = decode_message(raw)
    assert msg.request and msg.command_code == 272 and msg.application_id == 4
    ccr = read_ccr(msg)
    assert ccr.session_id == "pgw1;42;7"
    assert ccr.origin_host == "pgw1.example.net"
    assert ccr.request_type is CcRequestType.INITIAL_REQUEST and ccr.request_number == 0
    assert ccr.subscription_ids == ((0, "491701234567"),)
    assert ccr.multiple_services
    assert [s.rating_group for s in ccr.services] == [10, 20]
    assert all(s.requested is not None and s.requested.total_octets == 1_000_000 for s in ccr.services)
    assert encode_message(msg) == raw  # byte-exact re-encoding


def test_ccr_update_used_units_decode() -> None:
    msg = decode_message(gateway.ccr_initial(request_type=2, number=1).as_bytes())
    ccr = read_ccr(msg)
    assert ccr.request_type is CcRequestType.UPDATE_REQUEST
    assert [u.units.total_octets for s in ccr.services for u in s.used] == [4096, 4096]
    assert [u.units.time for s in ccr.services for u in s.used] == [30, 30]


def test_cca_built_by_us_reads_in_python_diameter() -> None:
    request = decode_message(gateway.ccr_initial("pgw1;42;8").as_bytes())
    cca = build_cca(NODE, request, ResultCode.DIAMETER_SUCCESS, [
        ServiceGrant(10, ResultCode.DIAMETER_SUCCESS, ServiceUnits(total_octets=500_000), validity_time=600,
                     quota_holding_time=60, volume_quota_threshold=50_000),
        ServiceGrant(20, ResultCode.DIAMETER_SUCCESS, ServiceUnits(total_octets=1000),
                     final_unit=FinalUnit(FinalUnitAction.TERMINATE)),
    ])
    theirs = PdMessage.from_bytes(encode_message(cca))
    assert not theirs.header.is_request
    assert theirs.header.hop_by_hop_identifier == request.hop_by_hop
    assert theirs.session_id == "pgw1;42;8"
    assert theirs.result_code == 2001
    assert theirs.origin_host == b"jet.example.net"
    assert theirs.cc_request_type == 1 and theirs.cc_request_number == 0
    first, second = theirs.multiple_services_credit_control
    assert first.rating_group == 10 and first.granted_service_unit.cc_total_octets == 500_000
    assert first.validity_time == 600 and first.quota_holding_time == 60
    assert first.volume_quota_threshold == 50_000
    assert second.final_unit_indication.final_unit_action == 0


@pytest.mark.parametrize(("amount", "digits", "exponent"), [
    ("0.30", 3, -1), ("0.150000", 15, -2), ("12", 12, None), ("-0.05", -5, -2), ("0", 0, None)])
def test_cost_information_and_check_balance_read_in_python_diameter(amount: str, digits: int,
                                                                     exponent: int | None) -> None:
    """RFC 4006 §8.7-8.8: Unit-Value is Value-Digits x 10^Exponent; Currency-Code ISO 4217 numeric."""
    request = decode_message(gateway.ccr_initial("smsc;1;1").as_bytes())
    cca = build_cca(NODE, request, ResultCode.DIAMETER_SUCCESS,
                    extra=[cost_information(Decimal(amount), "EUR", "text"), check_balance_result(False)])
    theirs = PdMessage.from_bytes(encode_message(cca))
    cost = theirs.cost_information
    assert (cost.unit_value.value_digits, cost.unit_value.exponent) == (digits, exponent)
    assert cost.currency_code == 978 and cost.cost_unit == "text"
    assert theirs.check_balance_result == 1


def test_rar_and_asr_built_by_us_read_in_python_diameter() -> None:
    rar = PdMessage.from_bytes(encode_message(build_rar(
        NODE, session_id="pgw1;1;1", destination_host="pgw1.example.net", destination_realm="example.net")))
    assert rar.header.is_request and rar.header.command_code == 258 and rar.header.application_id == 4
    assert rar.session_id == "pgw1;1;1" and rar.re_auth_request_type == 0
    assert rar.destination_host == b"pgw1.example.net"
    asr = PdMessage.from_bytes(encode_message(build_asr(
        NODE, session_id="pgw1;1;1", destination_host="pgw1.example.net", destination_realm="example.net")))
    assert asr.header.command_code == 274 and asr.auth_application_id == 4


def test_cer_cea_both_ways() -> None:
    cer = decode_message(gateway.cer().as_bytes())
    assert cer.origin_host == "pgw1.example.net"
    assert cer.get_address(AvpCode.HOST_IP_ADDRESS) == ipaddress.IPv4Address("127.0.0.1")
    cea = PdMessage.from_bytes(encode_message(build_cea(NODE, cer, ResultCode.DIAMETER_SUCCESS)))
    assert cea.result_code == 2001
    assert cea.auth_application_id == [4]
    assert cea.supported_vendor_id == [10415]
    assert cea.product_name == "Jet"
    assert next(a for a in cea.avps if a.code == AVP_RESULT_CODE).is_mandatory


def test_3gpp_vendor_avps_interop() -> None:
    from diameter.message.avp import Avp as PdAvp

    avp = PdAvp.new(TgppAvpCode.QUOTA_HOLDING_TIME, 10415, value=90)
    ccr = gateway.ccr_initial()
    ccr.append_avp(avp)
    msg = decode_message(ccr.as_bytes())
    assert msg.get_u32(TgppAvpCode.QUOTA_HOLDING_TIME) == 90


u64 = st.integers(0, 2**64 - 1)
u32 = st.integers(0, 2**32 - 1)
units = st.builds(ServiceUnits, st.none() | u64, st.none() | u64, st.none() | u64, st.none() | u32,
                  st.none() | u64)
services = st.builds(
    ServiceRequest, st.none() | u32, st.lists(u32, max_size=2).map(tuple), st.none() | units,
    st.lists(st.builds(UsedUnits, units, st.none() | st.integers(0, 9)), max_size=2).map(tuple),
    st.lists(st.integers(0, 9), max_size=2).map(tuple))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=40), st.sampled_from(list(CcRequestType)), u32,
       st.lists(st.tuples(st.integers(0, 4), st.text(max_size=20)), max_size=2),
       st.lists(services, max_size=3))
def test_build_ccr_then_read_ccr_round_trips(session_id: str, request_type: CcRequestType, number: int,
                                             subs: list[tuple[int, str]], svcs: list[ServiceRequest]) -> None:
    msg = build_ccr(NODE, session_id=session_id, destination_realm="example.net", request_type=request_type,
                    request_number=number, subscription_ids=subs, services=svcs)
    ccr = read_ccr(decode_message(encode_message(msg)))
    assert (ccr.session_id, ccr.request_type, ccr.request_number) == (session_id, request_type, number)
    assert list(ccr.subscription_ids) == subs
    assert list(ccr.services) == svcs
    assert ccr.multiple_services == bool(svcs)


def test_build_ccr_reads_in_python_diameter() -> None:
    msg = build_ccr(NODE, session_id="jet;1", destination_realm="example.net",
                    request_type=CcRequestType.UPDATE_REQUEST, request_number=3,
                    subscription_ids=[(1, "262011234567890")],
                    services=[ServiceRequest(10, (), ServiceUnits(),
                                             (UsedUnits(ServiceUnits(total_octets=7), 2),))])
    theirs = PdMessage.from_bytes(encode_message(msg))
    assert theirs.cc_request_type == 2 and theirs.cc_request_number == 3
    assert theirs.subscription_id[0].subscription_id_data == "262011234567890"
    (mscc,) = theirs.multiple_services_credit_control
    assert mscc.rating_group == 10 and mscc.used_service_unit[0].cc_total_octets == 7
