"""Attribute values: hidden, salted and tagged values, Gigawords, typed round trips.

pyrad (an independent implementation) cross-checks password hiding and salting.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyrad.packet import AuthPacket as PyradPacket

from protocols.radius import attributes as av
from protocols.radius.errors import DecodeError, EncodeError

secrets = st.binary(min_size=1, max_size=64)
authenticators = st.binary(min_size=16, max_size=16)
salts = st.tuples(st.integers(0x80, 0xFF), st.integers(0, 0xFF)).map(bytes)


@settings(deadline=None)  # no wall-time assertions: CI machines are shared
@given(st.binary(max_size=128).map(lambda b: b.rstrip(b"\x00")), secrets, authenticators)
def test_password_round_trip_and_pyrad(password: bytes, secret: bytes, authenticator: bytes) -> None:
    hidden = av.hide_password(password, secret, authenticator)
    assert len(hidden) % 16 == 0 and len(hidden) >= 16
    assert av.unhide_password(hidden, secret, authenticator) == password
    pyrad = PyradPacket(secret=secret, authenticator=authenticator)
    if password:
        assert pyrad.PwCrypt(password) == hidden


@settings(deadline=None)  # no wall-time assertions: CI machines are shared
@given(st.binary(max_size=200), secrets, authenticators, salts)
def test_salted_round_trip_and_pyrad(plain: bytes, secret: bytes, authenticator: bytes, salt: bytes) -> None:
    value = av.encrypt_salted(plain, secret, authenticator, salt)
    assert value[:2] == salt and (len(value) - 2) % 16 == 0
    assert av.decrypt_salted(value, secret, authenticator) == plain
    pyrad = PyradPacket(secret=secret, authenticator=authenticator)
    assert pyrad.SaltDecrypt(value) == plain


def test_salt_rules() -> None:
    with pytest.raises(EncodeError):
        av.encrypt_salted(b"x", b"s", bytes(16), b"\x00\x01")  # high bit must be set
    with pytest.raises(DecodeError):
        av.decrypt_salted(b"\x80\x01" + bytes(15), b"s", bytes(16))


def test_password_limits() -> None:
    with pytest.raises(EncodeError):
        av.hide_password(b"x" * 129, b"s", bytes(16))
    for bad in (b"", b"x" * 15, b"x" * 144):
        with pytest.raises(DecodeError):
            av.unhide_password(bad, b"s", bytes(16))


def test_tags() -> None:
    # RFC 2868 §3.1: tag 0x01..0x1F is a tag, anything else belongs to the value
    assert av.split_tag(b"\x01abc") == (1, b"abc")
    assert av.split_tag(b"abc") == (0, b"abc")
    assert av.split_tag(b"\x01\x00\x00\x03", integer=True) == (1, b"\x00\x00\x00\x03")
    assert av.join_tag(1, b"\x00\x00\x00\x03", integer=True) == b"\x01\x00\x00\x03"
    assert av.join_tag(0, b"abc") == b"abc"
    with pytest.raises(EncodeError):
        av.join_tag(32, b"abc")


@settings(deadline=None)  # no wall-time assertions: CI machines are shared
@given(st.integers(0, 2**64 - 1))
def test_gigawords(total: int) -> None:
    giga, octets = av.split_gigawords(total)
    assert 0 <= octets < 2**32
    assert av.join_gigawords(giga, octets) == total == giga << 32 | octets


values = st.one_of(
    st.tuples(st.just("string"), st.text(max_size=50)),
    st.tuples(st.just("octets"), st.binary(max_size=50)),
    st.tuples(st.just("integer"), st.integers(0, 2**32 - 1)),
    st.tuples(st.just("date"), st.integers(0, 2**32 - 1)),
    st.tuples(st.just("integer64"), st.integers(0, 2**64 - 1)),
    st.tuples(st.just("short"), st.integers(0, 2**16 - 1)),
    st.tuples(st.just("byte"), st.integers(0, 255)),
    st.tuples(st.just("signed"), st.integers(-(2**31), 2**31 - 1)),
    st.tuples(st.just("ipaddr"), st.ip_addresses(v=4)),
    st.tuples(st.just("ipv6addr"), st.ip_addresses(v=6)),
    st.tuples(st.just("ipv6prefix"), st.ip_addresses(v=6).flatmap(
        lambda a: st.integers(0, 128).map(lambda n: ipaddress.IPv6Network((a, n), strict=False)))),
    st.tuples(st.just("ipv4prefix"), st.ip_addresses(v=4).flatmap(
        lambda a: st.integers(0, 32).map(lambda n: ipaddress.IPv4Network((a, n), strict=False)))),
)


@settings(deadline=None)  # no wall-time assertions: CI machines are shared
@given(values)
def test_typed_round_trip(pair: tuple[str, av.Value]) -> None:
    datatype, value = pair
    assert av.decode_value(datatype, av.encode_value(datatype, value)) == value


def test_typed_errors() -> None:
    with pytest.raises(EncodeError):
        av.encode_value("integer", 2**32)
    with pytest.raises(EncodeError):
        av.encode_value("ipaddr", "300.1.1.1")
    with pytest.raises(EncodeError):
        av.encode_value("nonsense", 1)
    with pytest.raises(DecodeError):
        av.decode_value("integer", b"\x00")
    with pytest.raises(DecodeError):
        av.decode_value("ipv6prefix", b"\x00\x81")
