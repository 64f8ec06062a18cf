"""The curated dictionaries load (in our loader and in pyrad) and encode/decode by name."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pyrad.dictionary
import pytest

from protocols.radius.dictionary import BUNDLED_DICTIONARY, UnknownAttribute, load_dictionary
from protocols.radius.errors import DictionaryError, EncodeError

DICT = load_dictionary()


def test_bundled_loads_with_every_vendor() -> None:
    for vendor, number in [("Mikrotik", 14988), ("Cisco", 9), ("Juniper", 2636), ("WISPr", 14122),
                           ("Microsoft", 311), ("ChilliSpot", 14559), ("pfSense", 13644),
                           ("Ubiquiti", 41112), ("Huawei", 2011)]:
        assert DICT.vendors[vendor] == number
    assert len(DICT) > 500
    assert "Extended-Attribute-1" in DICT.skipped  # RFC 6929 containers pass through raw


def test_pyrad_loads_the_curated_files_too() -> None:
    d = pyrad.dictionary.Dictionary(str(BUNDLED_DICTIONARY))
    assert d.attributes["Mikrotik-Rate-Limit"].vendor == "Mikrotik"


def test_encode_decode_by_name() -> None:
    assert DICT.encode_attr("Mikrotik-Rate-Limit", "1M/1M") == ((14988, 8), b"1M/1M")
    assert DICT.encode_attr("Service-Type", "Framed-User") == (6, b"\x00\x00\x00\x02")
    assert DICT.encode_attr("Session-Timeout", 3600) == (27, b"\x00\x00\x0e\x10")
    assert DICT.encode_attr("Framed-IP-Address", "100.64.0.1") == (8, bytes((100, 64, 0, 1)))
    assert DICT.encode_attr("WISPr-Bandwidth-Max-Down", 10_000_000)[0] == (14122, 8)
    assert DICT.encode_attr("Cisco-AVPair", "ip:addr-pool=p1") == ((9, 1), b"ip:addr-pool=p1")
    assert DICT.decode_attr(52, b"\x00\x00\x00\x02") == ("Acct-Input-Gigawords", 0, 2)
    assert DICT.decode_attr(97, b"\x00\x40\x20\x01\x0d\xb8\x00\x00\x00\x00") == (
        "Framed-IPv6-Prefix", 0, ipaddress.IPv6Network("2001:db8::/64"))
    assert DICT.value_code("Acct-Status-Type", "Interim-Update") == 3
    assert DICT.value_name("Acct-Status-Type", 3) == "Interim-Update"
    assert DICT.attribute("user-name").name == "User-Name"  # names are case-insensitive
    with pytest.raises(UnknownAttribute):
        DICT.attribute("No-Such-Attribute")
    with pytest.raises(EncodeError):
        DICT.encode_attr("Session-Timeout", "soon")


def test_tagged_and_encrypted_by_name() -> None:
    assert DICT.encode_attr("Tunnel-Type", "L2TP", tag=1) == (64, b"\x01\x00\x00\x03")
    assert DICT.decode_attr(64, b"\x01\x00\x00\x03") == ("Tunnel-Type", 1, 3)
    secret, auth = b"s", bytes(16)
    key, raw = DICT.encode_attr("Tunnel-Password", "tunnel", tag=2, secret=secret, authenticator=auth,
                                salt=b"\x81\x02")
    assert key == 69 and raw[0] == 2
    assert DICT.decode_attr(key, raw, secret=secret, authenticator=auth) == ("Tunnel-Password", 2, "tunnel")
    key, raw = DICT.encode_attr("User-Password", "pw", secret=secret, authenticator=auth)
    assert DICT.decode_attr(key, raw, secret=secret, authenticator=auth) == ("User-Password", 0, "pw")
    with pytest.raises(EncodeError):
        DICT.encode_attr("MS-MPPE-Send-Key", b"k" * 16)  # salted: needs secret/authenticator/salt


def test_operator_files_add_and_override(tmp_path: Path) -> None:
    own = tmp_path / "dictionary.local"
    own.write_text("VENDOR Acme 99999\nBEGIN-VENDOR Acme\nATTRIBUTE Acme-Speed 1 integer\n"
                   "VALUE Acme-Speed Fast 2\nEND-VENDOR Acme\n")
    d = load_dictionary([BUNDLED_DICTIONARY, own])
    assert d.encode_attr("Acme-Speed", "Fast") == ((99999, 1), b"\x00\x00\x00\x02")
    assert d.encode_attr("Mikrotik-Rate-Limit", "1M/1M")[0] == (14988, 8)


@pytest.mark.parametrize(("text", "line", "words"), [
    ("ATTRIBUTE Foo 1 string\nATTRIBUTE Bar 2 strnig\n", 2, "unknown data type"),
    ("ATTRIBUTE Foo 0 string\n", 1, "out of range"),
    ("ATTRIBUTE Foo 1 string\nVALUE Nope Yes 1\nATTRIBUTE Bar 2 string\n", 2, "unknown attribute"),
    ("ATTRIBUTE Foo 1 string\nVALUE Foo Yes one\n", 2, "invalid literal"),
    ("BEGIN-VENDOR Nobody\n", 1, "unknown vendor"),
    ("FROBNICATE x\n", 1, "unknown keyword"),
    ("ATTRIBUTE Foo 1 string bogus_flag=1\n", 1, "unknown flag"),
    ("$INCLUDE does-not-exist\n", 1, "cannot read"),
])
def test_bad_files_name_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    bad = tmp_path / "dictionary.bad"
    bad.write_text("# header\n" + text)
    with pytest.raises(DictionaryError) as info:
        load_dictionary([bad])
    assert info.value.path.endswith("dictionary.bad")
    assert info.value.line == line + 1
    assert words in str(info.value)
    assert f"dictionary.bad:{line + 1}:" in str(info.value)


def test_the_uncurated_juniper_file_loads_here_but_the_fix_is_shipped() -> None:
    # FreeRADIUS's own dictionary.juniper says "String"; our loader tolerates it, pyrad not.
    shipped = (BUNDLED_DICTIONARY.parent / "dictionary.juniper").read_text()
    assert "\tString" not in shipped


def test_tunnel_password_always_carries_its_tag_octet() -> None:
    secret, auth = b"s", bytes(16)
    key, raw = DICT.encode_attr("Tunnel-Password", "pw", secret=secret, authenticator=auth, salt=b"\x80\x01")
    assert raw[0] == 0 and raw[1:3] == b"\x80\x01"  # RFC 2868 §3.5: Tag, Salt, String
    assert DICT.decode_attr(key, raw, secret=secret, authenticator=auth) == ("Tunnel-Password", 0, "pw")
    with pytest.raises(EncodeError):
        DICT.encode_attr("Tunnel-Preference", 2**24, tag=1)  # 24 bits after the tag


def test_numbers_as_freeradius_reads_them(tmp_path: Path) -> None:
    own = tmp_path / "dictionary.numbers"
    own.write_text("ATTRIBUTE Zero-Led 0240 integer\nVALUE Zero-Led Hex 0x10\nVALUE Zero-Led Dec 010\n")
    d = load_dictionary([own])
    assert d.key("Zero-Led") == 240 and d.value_code("Zero-Led", "Hex") == 16
    assert d.value_code("Zero-Led", "Dec") == 10


FREERADIUS_TREE = Path("/usr/share/freeradius/dictionary")


@pytest.mark.skipif(not FREERADIUS_TREE.exists(), reason="FreeRADIUS dictionaries not installed")
def test_the_whole_freeradius_tree_loads() -> None:
    # (pyrad cannot: dictionary.juniper says "String"). VALUEs before their ATTRIBUTE,
    # internal attributes > 255, flags like "secret" and "array" are all taken.
    d = load_dictionary([FREERADIUS_TREE])
    assert len(d) > 5000
    assert d.encode_attr("Juniper-Junosspace-Profile", "x") == ((2636, 11), b"x")
    assert d.value_code("Framed-Compression", "Van-Jacobson-TCP-IP") == 1
