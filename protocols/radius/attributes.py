"""Attribute values: typed encode/decode, hidden and salted values, tags, Gigawords.

Pure functions over bytes. Everything that needs randomness (salts) takes it as an
argument; the caller draws it at the edge.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable
from typing import Final

from protocols.radius.digest import md5
from protocols.radius.errors import DecodeError, EncodeError

_U8: Final = struct.Struct("!B")
_U16: Final = struct.Struct("!H")
_U32: Final = struct.Struct("!I")
_S32: Final = struct.Struct("!i")
_U64: Final = struct.Struct("!Q")

MAX_PASSWORD_LENGTH: Final = 128  # RFC 2865 §5.2: "... MUST NOT be longer than 128 characters"
GIGAWORD: Final = 1 << 32

Value = str | int | bytes | ipaddress.IPv4Address | ipaddress.IPv6Address | ipaddress.IPv4Network \
    | ipaddress.IPv6Network


# --- User-Password (RFC 2865 §5.2) ----------------------------------------------------

def _xor16(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(16, "big")


def hide_password(password: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """RFC 2865 §5.2: "Call the shared secret S and the pseudo-random 128-bit Request
    Authenticator RA. Break the password into 16-octet chunks p1, p2, etc. ... c(1) =
    p1 xor MD5(S + RA), c(2) = p2 xor MD5(S + c(1)) ..." (padded with nulls to 16)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        raise EncodeError(f"User-Password longer than {MAX_PASSWORD_LENGTH} octets")
    # "If the password's length is not a multiple of 16 octets, it is padded at the end
    # with nulls" (an empty password becomes one block of nulls).
    padded = password + bytes(-len(password) % 16) if password else bytes(16)
    out: list[bytes] = []
    last = authenticator
    for i in range(0, len(padded), 16):
        last = _xor16(padded[i:i + 16], md5(secret + last).digest())
        out.append(last)
    return b"".join(out)


def unhide_password(hidden: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """Reverse of ``hide_password``; trailing NULs (the padding) are stripped."""
    if not hidden or len(hidden) % 16 or len(hidden) > MAX_PASSWORD_LENGTH:
        raise DecodeError("malformed", f"User-Password of {len(hidden)} octets")
    out: list[bytes] = []
    last = authenticator
    for i in range(0, len(hidden), 16):
        chunk = hidden[i:i + 16]
        out.append(_xor16(chunk, md5(secret + last).digest()))
        last = chunk
    return b"".join(out).rstrip(b"\x00")


# --- salted values: Tunnel-Password (RFC 2868 §3.5), MS-MPPE keys (RFC 2548 §2.4.2) ---

def encrypt_salted(plain: bytes, secret: bytes, authenticator: bytes, salt: bytes) -> bytes:
    """RFC 2548 §2.4.2 / RFC 2868 §3.5: Salt (2 octets, "the most significant bit ...
    MUST be set (1)") followed by P = (length octet + plain) padded to 16, where
    "b(1) = MD5(S + R + A) c(1) = p(1) xor b(1) ... b(i) = MD5(S + c(i-1))" with R the
    Request Authenticator of the request this value answers."""
    if len(salt) != 2 or not salt[0] & 0x80:
        raise EncodeError("salt must be 2 octets with the high bit set")
    if len(plain) > 239:
        raise EncodeError("salted value too long")
    data = bytes((len(plain),)) + plain
    data += bytes(-len(data) % 16)
    out = [salt]
    last = authenticator + salt
    for i in range(0, len(data), 16):
        last = _xor16(data[i:i + 16], md5(secret + last).digest())
        out.append(last)
    return b"".join(out)


def make_salt(random2: bytes) -> bytes:
    """A valid salt from 2 random octets (drawn by the caller): the high bit is set."""
    if len(random2) != 2:
        raise EncodeError("a salt is 2 octets")
    return bytes((random2[0] | 0x80, random2[1]))


def decrypt_salted(value: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """Reverse of ``encrypt_salted``."""
    if len(value) < 18 or (len(value) - 2) % 16:
        raise DecodeError("malformed", f"salted value of {len(value)} octets")
    salt, cipher = value[:2], value[2:]
    out: list[bytes] = []
    last = authenticator + salt
    for i in range(0, len(cipher), 16):
        chunk = cipher[i:i + 16]
        out.append(_xor16(chunk, md5(secret + last).digest()))
        last = chunk
    plain = b"".join(out)
    if plain[0] > len(plain) - 1:
        raise DecodeError("malformed", "salted value length octet too large")
    return plain[1:1 + plain[0]]


# --- tags (RFC 2868 §3) -------------------------------------------------------------

def split_tag(value: bytes, *, integer: bool = False, always: bool = False) -> tuple[int, bytes]:
    """RFC 2868 §3.1: "If the value of the Tag field is greater than 0x00 and less than
    or equal to 0x1F, it SHOULD be interpreted as indicating which tunnel ... Otherwise
    the Tag field SHOULD be ignored" (string types: the octet is then part of the value).
    Integer types (and Tunnel-Password, RFC 2868 §3.5) always carry the tag octet; an
    integer then has a 3-octet value."""
    if integer:
        if len(value) != 4:
            raise DecodeError("malformed", "tagged integer is not 4 octets")
        return value[0], b"\x00" + value[1:]
    if always:  # Tunnel-Password: Tag, Salt, String
        if not value:
            raise DecodeError("malformed", "tagged value is empty")
        return value[0], value[1:]
    if value and 0 < value[0] <= 0x1F:
        return value[0], value[1:]
    return 0, value


def join_tag(tag: int, value: bytes, *, integer: bool = False, always: bool = False) -> bytes:
    """Put the tag in front: integers replace their top octet (the value must fit in 24
    bits), ``always`` keeps a zero tag (Tunnel-Password), strings drop a zero tag."""
    if not 0 <= tag <= 0x1F:
        raise EncodeError(f"tag {tag} out of range 0..31")
    if integer:
        if len(value) != 4 or value[0]:
            raise EncodeError("a tagged integer must fit in 24 bits")
        return bytes((tag,)) + value[1:]
    return bytes((tag,)) + value if tag or always else value


# --- Gigawords (RFC 2869 §5.1/5.2) --------------------------------------------------

def split_gigawords(total: int) -> tuple[int, int]:
    """64-bit count -> (Gigawords, Octets): "how many times the Acct-Input-Octets counter
    has wrapped around 2^32"."""
    if not 0 <= total < 1 << 64:
        raise EncodeError("counter out of range for 64 bits")
    return total >> 32, total & 0xFFFFFFFF


def join_gigawords(gigawords: int, octets: int) -> int:
    return (gigawords << 32) | octets


# --- typed values -------------------------------------------------------------------

def _enc_string(v: Value) -> bytes:
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, bytes):
        return v
    raise EncodeError(f"expected text, got {type(v).__name__}")


def _enc_octets(v: Value) -> bytes:
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        if v.startswith("0x"):
            try:
                return bytes.fromhex(v[2:])
            except ValueError as exc:
                raise EncodeError(f"bad hex {v!r}") from exc
        return v.encode()
    raise EncodeError(f"expected octets, got {type(v).__name__}")


def _int_encoder(packer: struct.Struct) -> Callable[[Value], bytes]:
    def enc(v: Value) -> bytes:
        if isinstance(v, str):
            try:
                v = int(v, 0)
            except ValueError as exc:
                raise EncodeError(f"expected a number, got {v!r}") from exc
        if not isinstance(v, int) or isinstance(v, bool):
            raise EncodeError(f"expected an integer, got {type(v).__name__}")
        try:
            return packer.pack(v)
        except struct.error as exc:
            raise EncodeError(f"{v} does not fit") from exc
    return enc


def _enc_ipv4(v: Value) -> bytes:
    try:
        return ipaddress.IPv4Address(v if not isinstance(v, ipaddress.IPv4Address) else v.packed).packed
    except (ValueError, TypeError) as exc:
        raise EncodeError(f"bad IPv4 address {v!r}") from exc


def _enc_ipv6(v: Value) -> bytes:
    try:
        return ipaddress.IPv6Address(v if not isinstance(v, ipaddress.IPv6Address) else v.packed).packed
    except (ValueError, TypeError) as exc:
        raise EncodeError(f"bad IPv6 address {v!r}") from exc


def _enc_ipv6prefix(v: Value) -> bytes:
    # RFC 3162 §2.3: Reserved (1), Prefix-Length (1), Prefix (0..16 octets).
    try:
        net = ipaddress.IPv6Network(v if isinstance(v, (str, ipaddress.IPv6Network)) else str(v))
    except ValueError as exc:
        raise EncodeError(f"bad IPv6 prefix {v!r}") from exc
    nbytes = (net.prefixlen + 7) // 8
    return bytes((0, net.prefixlen)) + net.network_address.packed[:nbytes]


def _enc_ipv4prefix(v: Value) -> bytes:
    # RFC 6572 §4.1: Reserved (1), Prefix-Length (1), Prefix (4).
    try:
        net = ipaddress.IPv4Network(v if isinstance(v, (str, ipaddress.IPv4Network)) else str(v))
    except ValueError as exc:
        raise EncodeError(f"bad IPv4 prefix {v!r}") from exc
    return bytes((0, net.prefixlen)) + net.network_address.packed


def _dec_int(packer: struct.Struct) -> Callable[[bytes], Value]:
    size = packer.size

    def dec(raw: bytes) -> Value:
        if len(raw) != size:
            raise DecodeError("malformed", f"integer of {len(raw)} octets, expected {size}")
        result: int = packer.unpack(raw)[0]
        return result
    return dec


def _dec_string(raw: bytes) -> Value:
    return raw.decode("utf-8", "replace")


def _dec_ipv4(raw: bytes) -> Value:
    if len(raw) != 4:
        raise DecodeError("malformed", "ipaddr is not 4 octets")
    return ipaddress.IPv4Address(raw)


def _dec_ipv6(raw: bytes) -> Value:
    if len(raw) != 16:
        raise DecodeError("malformed", "ipv6addr is not 16 octets")
    return ipaddress.IPv6Address(raw)


def _dec_ipv6prefix(raw: bytes) -> Value:
    if len(raw) < 2 or raw[1] > 128 or len(raw) > 18:
        raise DecodeError("malformed", "bad ipv6prefix")
    addr = (raw[2:] + bytes(16))[:16]
    try:
        return ipaddress.IPv6Network((addr, raw[1]))
    except ValueError as exc:
        raise DecodeError("malformed", "ipv6prefix has host bits set") from exc


def _dec_ipv4prefix(raw: bytes) -> Value:
    if len(raw) != 6 or raw[1] > 32:
        raise DecodeError("malformed", "bad ipv4prefix")
    try:
        return ipaddress.IPv4Network((raw[2:], raw[1]))
    except ValueError as exc:
        raise DecodeError("malformed", "ipv4prefix has host bits set") from exc


def _dec_octets(raw: bytes) -> Value:
    return raw


ENCODERS: Final[dict[str, Callable[[Value], bytes]]] = {
    "string": _enc_string, "octets": _enc_octets, "ipaddr": _enc_ipv4, "ipv6addr": _enc_ipv6,
    "ipv6prefix": _enc_ipv6prefix, "ipv4prefix": _enc_ipv4prefix, "integer": _int_encoder(_U32),
    "date": _int_encoder(_U32), "integer64": _int_encoder(_U64), "byte": _int_encoder(_U8),
    "short": _int_encoder(_U16), "signed": _int_encoder(_S32), "ifid": _enc_octets, "ether": _enc_octets,
    "abinary": _enc_octets, "combo-ip": _enc_octets,
}

DECODERS: Final[dict[str, Callable[[bytes], Value]]] = {
    "string": _dec_string, "octets": _dec_octets, "ipaddr": _dec_ipv4, "ipv6addr": _dec_ipv6,
    "ipv6prefix": _dec_ipv6prefix, "ipv4prefix": _dec_ipv4prefix, "integer": _dec_int(_U32),
    "date": _dec_int(_U32), "integer64": _dec_int(_U64), "byte": _dec_int(_U8), "short": _dec_int(_U16),
    "signed": _dec_int(_S32), "ifid": _dec_octets, "ether": _dec_octets, "abinary": _dec_octets,
    "combo-ip": _dec_octets,
}


def encode_value(datatype: str, value: Value) -> bytes:
    try:
        return ENCODERS[datatype](value)
    except KeyError as exc:
        raise EncodeError(f"unknown data type {datatype!r}") from exc


def decode_value(datatype: str, raw: bytes) -> Value:
    try:
        decoder = DECODERS[datatype]
    except KeyError as exc:
        raise DecodeError("malformed", f"unknown data type {datatype!r}") from exc
    return decoder(raw)
