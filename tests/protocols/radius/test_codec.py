"""Codec properties: round trips, authenticators, Message-Authenticator, Proxy-State."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.radius import codec, errors
from protocols.radius.errors import DecodeError, EncodeError
from protocols.radius.packet import Attr, Attribute, Code, Packet

SECRET = b"testing123"

# (Vendor-Specific, Proxy-State, EAP-Message and Message-Authenticator have rules of their own)
std_attrs = st.tuples(st.integers(1, 255).filter(lambda t: t not in (26, 33, 79, 80)), st.binary(max_size=40))
vsa_attrs = st.tuples(st.tuples(st.integers(1, 2**32 - 1), st.integers(0, 255)), st.binary(max_size=40))
attr_lists = st.lists(st.one_of(std_attrs, vsa_attrs), max_size=20)


def _packet(code: int, ident: int, auth: bytes, attrs: list[Attribute]) -> Packet:
    return Packet(code, ident, auth, tuple(attrs))


@settings(deadline=None)  # no wall-time assertions: CI machines are shared
@given(st.sampled_from([Code.ACCESS_REQUEST, Code.ACCOUNTING_REQUEST, Code.COA_REQUEST,
                        Code.DISCONNECT_REQUEST]),
       st.integers(0, 255), st.binary(min_size=16, max_size=16), attr_lists, st.booleans())
def test_request_round_trip(code: int, ident: int, auth: bytes, attrs: list[Attribute], ma: bool) -> None:
    packet = _packet(code, ident, auth, attrs)
    data = codec.encode_request(packet, SECRET, message_authenticator=ma)
    decoded = codec.decode_request(data, SECRET, require_message_authenticator=ma)
    body = tuple(a for a in decoded.attributes if a[0] != Attr.MESSAGE_AUTHENTICATOR)
    assert body == packet.attributes
    assert decoded.has(Attr.MESSAGE_AUTHENTICATOR) == ma
    if code == Code.ACCESS_REQUEST:
        assert decoded.authenticator == auth
    assert codec.decode_packet(data).attributes == decoded.attributes


@settings(deadline=None)  # no wall-time assertions: CI machines are shared
@given(attr_lists, st.lists(st.binary(min_size=1, max_size=10), max_size=3),
       st.binary(min_size=16, max_size=16))
def test_reply_round_trip_with_proxy_state(attrs: list[Attribute], states: list[bytes], auth: bytes) -> None:
    request = _packet(Code.ACCESS_REQUEST, 9, auth, [(1, b"bob"), *[(33, s) for s in states]])
    data = codec.encode_reply(request, Code.ACCESS_ACCEPT, attrs, SECRET)
    reply = codec.decode_reply(data, SECRET, request.authenticator)
    assert reply.code == Code.ACCESS_ACCEPT and reply.identifier == 9
    # BlastRADIUS: the Message-Authenticator comes first in every reply to an Access-Request
    assert reply.attributes[0][0] == Attr.MESSAGE_AUTHENTICATOR
    # RFC 2865 §5.33: Proxy-State copied unmodified and in order
    assert reply.get_all(Attr.PROXY_STATE) == states
    assert reply.attributes[1:len(attrs) + 1] == tuple(attrs)


def test_accounting_reply_has_no_message_authenticator_unless_asked() -> None:
    request = codec.decode_request(codec.encode_request(_packet(Code.ACCOUNTING_REQUEST, 1, bytes(16), []),
                                                        SECRET), SECRET)
    reply = codec.decode_reply(codec.encode_reply(request, Code.ACCOUNTING_RESPONSE, [], SECRET), SECRET,
                               request.authenticator)
    assert reply.attributes == ()


def _access_request(**kw: bool) -> bytes:
    packet = _packet(Code.ACCESS_REQUEST, 1, bytes(range(16)), [(1, b"bob")])
    return codec.encode_request(packet, SECRET, **kw)


def test_message_authenticator_rules() -> None:
    with_ma = _access_request(message_authenticator=True)
    codec.decode_request(with_ma, SECRET, require_message_authenticator=True)
    without = _access_request()
    codec.decode_request(without, SECRET)
    with pytest.raises(DecodeError) as info:
        codec.decode_request(without, SECRET, require_message_authenticator=True)
    assert info.value.reason == errors.MISSING_MESSAGE_AUTHENTICATOR
    # present but wrong: always rejected, required or not
    tampered = with_ma[:-1] + bytes((with_ma[-1] ^ 1,))
    with pytest.raises(DecodeError) as info:
        codec.decode_request(tampered, SECRET)
    assert info.value.reason == errors.BAD_MESSAGE_AUTHENTICATOR
    with pytest.raises(DecodeError) as info:
        codec.decode_request(with_ma, b"other secret")
    assert info.value.reason == errors.BAD_MESSAGE_AUTHENTICATOR
    # RFC 3579 §3.2: EAP-Message without Message-Authenticator is discarded
    eap_request = _packet(Code.ACCESS_REQUEST, 1, bytes(16), [(79, b"\x02\x01\x00\x04")])
    eap = codec.encode_request(eap_request, SECRET)
    with pytest.raises(DecodeError) as info:
        codec.decode_request(eap, SECRET)
    assert info.value.reason == errors.MISSING_MESSAGE_AUTHENTICATOR


def test_hashed_request_authenticators_are_verified() -> None:
    for code in (Code.ACCOUNTING_REQUEST, Code.COA_REQUEST, Code.DISCONNECT_REQUEST):
        data = codec.encode_request(_packet(code, 3, bytes(16), [(44, b"s1")]), SECRET)
        assert codec.decode_request(data, SECRET).get(44) == b"s1"
        for bad in (data[:4] + bytes(16) + data[20:], data[:-1] + b"2"):
            with pytest.raises(DecodeError) as info:
                codec.decode_request(bad, SECRET)
            assert info.value.reason == errors.BAD_AUTHENTICATOR


def test_reply_authenticator_is_verified() -> None:
    request = codec.decode_request(_access_request(), SECRET)
    data = codec.encode_reply(request, Code.ACCESS_REJECT, [(18, b"no")], SECRET)
    with pytest.raises(DecodeError):
        codec.decode_reply(data, b"wrong", request.authenticator)
    with pytest.raises(DecodeError):
        codec.decode_reply(data, SECRET, bytes(16))


@pytest.mark.parametrize(("data", "reason"), [
    (b"", errors.MALFORMED),
    (bytes(19), errors.MALFORMED),
    (b"\x01\x01\x00\x13" + bytes(16), errors.MALFORMED),          # length field < 20
    (b"\x01\x01\x00\x20" + bytes(16), errors.MALFORMED),          # length field > datagram
    (b"\x01\x01\x00\x17" + bytes(16) + b"\x01\x01\x00", errors.MALFORMED),  # attribute length 1
    (b"\x01\x01\x00\x17" + bytes(16) + b"\x01\x05\x00", errors.MALFORMED),  # runs past the end
    (b"\x01\x01\x00\x16" + bytes(16) + b"\x50\x02", errors.MALFORMED),      # MA of length 2
    (b"\x02\x01\x00\x14" + bytes(16), errors.UNSUPPORTED_CODE),
])
def test_malformed(data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        codec.decode_request(data, SECRET)
    assert info.value.reason == reason


def test_padding_beyond_length_is_ignored() -> None:
    data = _access_request()
    assert codec.decode_request(data + b"\xff" * 10, SECRET).user_name == "bob"


def test_vsa_with_several_subattributes_and_raw_fallback() -> None:
    vsa = b"\x1a\x0f\x00\x00\x3a\x8c\x08\x04ab\x08\x05cde"  # two Mikrotik sub-attributes
    odd = b"\x1a\x08\x00\x00\x3a\x8c\xff\x07"  # sub-length runs past the VSA: kept raw
    body = vsa + odd
    data = bytes((Code.ACCESS_REQUEST, 1)) + (20 + len(body)).to_bytes(2, "big") + bytes(16) + body
    packet = codec.decode_request(data, SECRET)
    assert packet.attributes == (((14988, 8), b"ab"), ((14988, 8), b"cde"), (26, odd[2:]))


def test_packets_validate_when_built() -> None:
    with pytest.raises(EncodeError):
        Packet(0, 1, bytes(16))
    with pytest.raises(EncodeError):
        Packet(1, 256, bytes(16))
    with pytest.raises(EncodeError):
        Packet(1, 1, bytes(15))
    with pytest.raises(EncodeError):
        Packet(1, 1, bytes(16), ((1, b"x" * 254),))
    with pytest.raises(EncodeError):
        Packet(1, 1, bytes(16), (((9, 1), b"x" * 248),))
    with pytest.raises(EncodeError):
        Packet(1, 1, bytes(16), ((0, b""),))
    with pytest.raises(EncodeError):
        codec.encode_request(Packet(4, 1, bytes(16), tuple((1, b"x" * 253) for _ in range(17))), SECRET)


def test_typed_accessors() -> None:
    p = Packet(4, 1, bytes(16), ((40, b"\x00\x00\x00\x03"), (44, b"s1"), (42, b"\x00\x00\x00\x05"),
                                (52, b"\x00\x00\x00\x01"), (55, b"\x69\x26\x43\x00"), (1, b"\xffbob")))
    assert p.acct_status_type == 3 and p.acct_session_id == "s1"
    assert p.input_octets == (1 << 32) + 5 and p.output_octets is None
    assert p.event_timestamp == 1764115200
    assert p.user_name == "\ufffdbob"
    assert p.get_int(44) is None and p.get(99) is None and p.get_all(44) == [b"s1"]


def test_pyrad_verifies_what_we_sign() -> None:
    """An independent implementation accepts our authenticators and Message-Authenticators."""
    import pyrad.packet as pp

    for code in (Code.COA_REQUEST, Code.DISCONNECT_REQUEST, Code.ACCOUNTING_REQUEST):
        data = codec.encode_request(_packet(code, 5, bytes(16), [(1, b"bob"), (44, b"s1")]), SECRET,
                                    message_authenticator=True)
        if code == Code.ACCOUNTING_REQUEST:
            theirs = pp.AcctPacket(packet=data, secret=SECRET)
            assert theirs.VerifyAcctRequest()
        else:
            theirs = pp.CoAPacket(packet=data, secret=SECRET)
            assert theirs.VerifyCoARequest()
        # RFC 5176 §3.3: computed with the Request Authenticator zeroed
        assert theirs.verify_message_authenticator(original_authenticator=bytes(16))
    request = codec.decode_request(_access_request(message_authenticator=True), SECRET)
    assert pp.AuthPacket(packet=_access_request(message_authenticator=True), secret=SECRET) \
        .verify_message_authenticator()
    reply = codec.encode_reply(request, Code.ACCESS_ACCEPT, [(18, b"hi")], SECRET)
    parsed = pp.AuthPacket(packet=reply, secret=SECRET)
    assert parsed.verify_message_authenticator(original_authenticator=request.authenticator,
                                               original_code=Code.ACCESS_REQUEST)


def test_intenum_keys_encode_like_ints() -> None:
    request = _packet(Code.ACCESS_REQUEST, 1, bytes(16), [(Attr.USER_NAME, b"bob")])
    data = codec.encode_request(request, SECRET)
    assert codec.decode_request(data, SECRET).attributes == ((1, b"bob"),)
    reply = codec.encode_reply(codec.decode_request(data, SECRET), Code.ACCESS_ACCEPT,
                               [(Attr.SESSION_TIMEOUT, b"\x00\x00\x00\x3c")], SECRET)
    assert codec.decode_reply(reply, SECRET, bytes(16)).get(27) == b"\x00\x00\x00\x3c"
