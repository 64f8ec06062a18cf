"""Codec: vectors, round trips, malformed input (hypothesis)."""

from __future__ import annotations

import ipaddress
import struct
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols.diameter.avp import Avp
from protocols.diameter.codec import decode_message, encode_message, message_length
from protocols.diameter.constants import AvpCode, CommandCode, ResultCode, TgppAvpCode
from protocols.diameter.dictionary import AVPS, GROUPED_KEYS, make_avp
from protocols.diameter.errors import (
    DecodeError,
    InvalidAvpBits,
    InvalidAvpLength,
    InvalidAvpValue,
    InvalidHeaderBits,
    InvalidMessageLength,
    UnsupportedVersion,
)
from protocols.diameter.message import Message
from protocols.diameter.values import AvpType, decode_value, encode_value

# A DWR from RFC-shaped bytes, with a readable dump beside it:
#   01 000040                 version 1, length 64
#   80 000118                 flags R, command 280 (Device-Watchdog)
#   00000000                  application 0
#   00000007 0000000b         hop-by-hop 7, end-to-end 11
#   00000108 40 000016 "pgw1.example.net" 0000      Origin-Host (M), length 22 + 2 padding
#   00000128 40 000013 "example.net" 00             Origin-Realm (M), length 19 + 1 padding
DWR_HEX = (
    "01000040" "80000118" "00000000" "00000007" "0000000b"
    "00000108" "40000018" "706777312e6578616d706c652e6e6574"
    "00000128" "40000013" "6578616d706c652e6e6574" "00"
)


def test_dwr_vector_decodes_and_reencodes_byte_for_byte() -> None:
    raw = bytes.fromhex(DWR_HEX)
    msg = decode_message(raw)
    assert (msg.command_code, msg.request, msg.hop_by_hop, msg.end_to_end) == (280, True, 7, 11)
    assert msg.origin_host == "pgw1.example.net"
    assert msg.get_str(AvpCode.ORIGIN_REALM) == "example.net"
    assert encode_message(msg) == raw


def test_vendor_avp_and_grouped_layout() -> None:
    # Quota-Holding-Time (871, vendor 10415, V+M): 000000367 c0 000010 00002 8af 0000003c
    avp = make_avp(TgppAvpCode.QUOTA_HOLDING_TIME, 60)
    msg = Message(CommandCode.CREDIT_CONTROL, 4, (make_avp(AvpCode.MULTIPLE_SERVICES_CREDIT_CONTROL, [avp]),))
    raw = encode_message(msg)
    assert raw[20:].hex() == "000001c8" "40000018" "00000367" "c0000010" "000028af" "0000003c"
    back = decode_message(raw)
    mscc = back.find(AvpCode.MULTIPLE_SERVICES_CREDIT_CONTROL)
    assert mscc is not None and mscc.get_u32(TgppAvpCode.QUOTA_HOLDING_TIME) == 60


@pytest.mark.parametrize(("avp_type", "value"), [
    (AvpType.UNSIGNED32, 4_000_000_000), (AvpType.INTEGER32, -5), (AvpType.UNSIGNED64, 2**64 - 1),
    (AvpType.INTEGER64, -(2**63)), (AvpType.UTF8_STRING, "Grüße"), (AvpType.DIAMETER_IDENTITY, "a.b"),
    (AvpType.OCTET_STRING, b"\x00\xff"), (AvpType.ADDRESS, ipaddress.ip_address("10.1.2.3")),
    (AvpType.ADDRESS, ipaddress.ip_address("2001:db8::1")), (AvpType.FLOAT64, 1.5),
    (AvpType.TIME, datetime(2026, 11, 26, 6, 0, tzinfo=UTC)),
    (AvpType.TIME, datetime(2040, 1, 1, tzinfo=UTC)),
])
def test_typed_values_round_trip(avp_type: AvpType, value: object) -> None:
    assert decode_value(avp_type, encode_value(avp_type, value)) == value


@pytest.mark.parametrize(("raw", "error", "code"), [
    (bytes.fromhex(DWR_HEX)[:-4], InvalidMessageLength, ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH),
    (b"\x02" + bytes.fromhex(DWR_HEX)[1:], UnsupportedVersion, ResultCode.DIAMETER_UNSUPPORTED_VERSION),
    (bytes.fromhex(DWR_HEX)[:4] + b"\xa0" + bytes.fromhex(DWR_HEX)[5:], InvalidHeaderBits,
     ResultCode.DIAMETER_INVALID_HDR_BITS),
    (bytes.fromhex(DWR_HEX)[:24] + b"\x50" + bytes.fromhex(DWR_HEX)[25:], InvalidAvpBits,
     ResultCode.DIAMETER_INVALID_AVP_BITS),
    (bytes.fromhex(DWR_HEX)[:25] + b"\x00\x00\x40" + bytes.fromhex(DWR_HEX)[28:], InvalidAvpLength,
     ResultCode.DIAMETER_INVALID_AVP_LENGTH),
    (bytes.fromhex(DWR_HEX)[:25] + b"\x00\x00\x04" + bytes.fromhex(DWR_HEX)[28:], InvalidAvpLength,
     ResultCode.DIAMETER_INVALID_AVP_LENGTH),
])
def test_malformed_messages_raise_codec_errors_with_result_codes(
        raw: bytes, error: type[DecodeError], code: ResultCode) -> None:
    with pytest.raises(error) as info:
        decode_message(raw)
    assert info.value.result_code == code
    assert info.value.header is not None and info.value.header.hop_by_hop == 7


def test_reserved_header_bits_are_ignored() -> None:
    # RFC 6733 §3: reserved command flag bits "MUST be set to zero and ignored by the receiver"
    raw = bytes.fromhex(DWR_HEX)
    msg = decode_message(raw[:4] + b"\x81" + raw[5:])
    assert msg.request and encode_message(msg) == raw


def test_failed_avp_is_reported_for_bad_avp_bits() -> None:
    raw = bytes.fromhex(DWR_HEX)
    with pytest.raises(InvalidAvpBits) as info:
        decode_message(raw[:24] + b"\x41" + raw[25:])
    assert info.value.failed_avp is not None and info.value.failed_avp.code == AvpCode.ORIGIN_HOST


def test_malformed_grouped_child_is_refused_at_decode() -> None:
    inner = struct.pack(">II", AvpCode.RATING_GROUP, (0x40 << 24) | 40) + b"\0\0\0\1"  # says 40, has 12
    bad = Avp(AvpCode.MULTIPLE_SERVICES_CREDIT_CONTROL, inner, 0, 0x40)
    raw = encode_message(Message(272, 4, (bad,), request=True))
    with pytest.raises(InvalidAvpLength):
        decode_message(raw)


def test_value_errors_are_codec_errors() -> None:
    msg = Message(272, 4, (Avp(AvpCode.CC_REQUEST_NUMBER, b"\0\0\1"), Avp(AvpCode.SESSION_ID, b"\xff")))
    with pytest.raises(InvalidAvpLength) as info:
        msg.get_u32(AvpCode.CC_REQUEST_NUMBER)
    assert info.value.failed_avp == msg.avps[0]
    with pytest.raises(InvalidAvpValue):
        msg.get_str(AvpCode.SESSION_ID)
    with pytest.raises(InvalidAvpValue):
        decode_value(AvpType.ADDRESS, b"\x00\x03abcd")


def test_frozen_messages_validate_when_built() -> None:
    with pytest.raises(ValueError):
        Message(272, 4, (), request=True, error=True)
    with pytest.raises(ValueError):
        Message(1 << 24, 4)
    with pytest.raises(ValueError):
        Avp(1, b"", 0, 0x80)  # the V bit follows from vendor_id
    with pytest.raises(TypeError):
        make_avp(AvpCode.RATING_GROUP, "ten")
    with pytest.raises(AttributeError):
        Message(272, 4).command_code = 1  # type: ignore[misc]


def test_message_length_framing() -> None:
    raw = bytes.fromhex(DWR_HEX)
    assert message_length(raw[:3]) is None
    assert message_length(raw) == 64
    with pytest.raises(InvalidMessageLength):
        message_length(b"\x01\x00\x00\x13")
    with pytest.raises(InvalidMessageLength):
        message_length(b"GET / HTTP/1.1")


# --- hypothesis ----------------------------------------------------------------------------------

def _leaf() -> st.SearchStrategy[Avp]:
    # A leaf must not use a code the dictionary knows as Grouped: random bytes there are malformed.
    return st.builds(Avp, st.integers(0, 2**32 - 1), st.binary(max_size=40),
                     st.sampled_from([0, 0, 10415, 2**32 - 1]), st.sampled_from([0, 0x40, 0x20, 0x60])
                     ).filter(lambda a: (a.code, a.vendor_id) not in GROUPED_KEYS)


avps = st.recursive(
    _leaf(),
    lambda kids: st.builds(lambda code, ch, vendor, flags: Avp.grouped(code, ch, vendor_id=vendor,
                                                                        flags=flags),
                           st.integers(0, 2**32 - 1), st.lists(kids, max_size=4), st.sampled_from([0, 10415]),
                           st.sampled_from([0, 0x40])),
    max_leaves=8,
)

messages = st.builds(
    Message, st.integers(0, 2**24 - 1), st.integers(0, 2**32 - 1), st.lists(avps, max_size=8).map(tuple),
    st.just(False), st.booleans(), st.booleans(), st.booleans(), st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
) | st.builds(
    Message, st.integers(0, 2**24 - 1), st.integers(0, 2**32 - 1), st.lists(avps, max_size=8).map(tuple),
    st.just(True), st.booleans(), st.just(False), st.booleans(), st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_decode_encode_round_trip(msg: Message) -> None:
    raw = encode_message(msg)
    back = decode_message(raw)
    assert back == msg
    assert encode_message(back) == raw


def _walk(avps: tuple[Avp, ...]) -> None:
    """Read everything: every known value, every child list (raises DecodeError only)."""
    for a in avps:
        entry = AVPS.get((a.code, a.vendor_id))
        if entry is not None:
            decode_value(entry.avp_type, a.data)
        if len(a.data) >= 8:
            _walk(a.avps)


DWR = bytes.fromhex(DWR_HEX)
# A CCR with grouped AVPs (MSCC > USU > CC-Total-Octets, 3GPP vendor AVPs) to mutate.
CCR = encode_message(Message(272, 4, (
    make_avp(AvpCode.SESSION_ID, "pgw1;1;2"), make_avp(AvpCode.CC_REQUEST_TYPE, 2),
    make_avp(AvpCode.MULTIPLE_SERVICES_CREDIT_CONTROL, [
        make_avp(AvpCode.USED_SERVICE_UNIT, [make_avp(AvpCode.CC_TOTAL_OCTETS, 5)]),
        make_avp(AvpCode.RATING_GROUP, 10), make_avp(TgppAvpCode.REPORTING_REASON, 2)]),
    make_avp(TgppAvpCode.SERVICE_INFORMATION, [make_avp(TgppAvpCode.PS_INFORMATION, [
        make_avp(TgppAvpCode.TGPP_RAT_TYPE, b"\x06"), make_avp(TgppAvpCode.SGSN_ADDRESS,
                                                                ipaddress.ip_address("10.0.0.1"))])]),
), request=True))


def _survives(raw: bytes) -> None:
    try:
        _walk(decode_message(raw).avps)
    except DecodeError:
        pass


def _with_header(body: bytes, flags: int) -> bytes:
    """A readable header in front of random AVP bytes, so the fuzz reaches the AVP walker."""
    body += bytes(-len(body) % 4)
    return struct.pack(">IIIII", (1 << 24) | (20 + len(body)), (flags << 24) | 272, 4, 1, 1) + body


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=96), min_size=12, max_size=12), st.sampled_from([0x80, 0xC0, 0x40, 0x00]))
def test_arbitrary_bytes_raise_only_decode_errors(blobs: list[bytes], flags: int) -> None:
    # 500 examples x 12 blobs x 2 framings = 12,000 inputs
    for blob in blobs:
        _survives(blob)
        _survives(_with_header(blob, flags))


@pytest.mark.parametrize("sample", [DWR, CCR], ids=["dwr", "ccr"])
def test_every_single_byte_mutation_raises_only_decode_errors(sample: bytes) -> None:
    # Exhaustive: every position x every byte value (16k inputs for the DWR, ~60k for the CCR
    # sampled every 4th value), plus every truncation.
    step = 1 if len(sample) <= 64 else 4
    for pos in range(len(sample)):
        for byte in range(0, 256, step):
            _survives(sample[:pos] + bytes([byte]) + sample[pos + 1:])
    for cut in range(len(sample)):
        _survives(sample[:cut])
