"""Sans-IO RADIUS codec: bytes + shared secret -> ``Packet`` and back.

Hand-written over ``struct``/``hashlib`` because it is the hot path. Nothing here reads
a clock, a socket or a random source: callers pass the request authenticator they
chose (``os.urandom(16)`` at the edge).
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Iterable
from typing import Final

from protocols.radius import errors
from protocols.radius.digest import hmac_md5, md5
from protocols.radius.errors import DecodeError, EncodeError
from protocols.radius.packet import (
    HEADER_LENGTH,
    MAX_PACKET_LENGTH,
    MAX_VALUE_LENGTH,
    MAX_VSA_VALUE_LENGTH,
    Attr,
    Attribute,
    AttrKey,
    Code,
    Packet,
    trusted_packet,
)

_HEADER: Final = struct.Struct("!BBH")
_VSA_HEADER: Final = struct.Struct("!BBIBB")
_ZERO16: Final = bytes(16)
_MA: Final = Attr.MESSAGE_AUTHENTICATOR.value
_PROXY_STATE: Final = Attr.PROXY_STATE.value
_EAP_MESSAGE: Final = Attr.EAP_MESSAGE.value
_VSA: Final = Attr.VENDOR_SPECIFIC.value
_STATUS_SERVER: Final = Code.STATUS_SERVER.value
_SPECIAL: Final = frozenset({_VSA, _MA, _EAP_MESSAGE})  # the types the walker looks at

# Requests whose Request Authenticator is a random nonce (RFC 2865 §3, RFC 5997 §3) ...
_RANDOM_AUTHENTICATOR: Final = frozenset({Code.ACCESS_REQUEST.value, Code.STATUS_SERVER.value})
# ... and those where it is an MD5 over the packet and the secret (RFC 2866 §3, RFC 5176 §2.3).
_HASHED_AUTHENTICATOR: Final = frozenset({Code.ACCOUNTING_REQUEST.value, Code.DISCONNECT_REQUEST.value,
                                          Code.COA_REQUEST.value})


def _walk(data: bytes, end: int) -> tuple[tuple[Attribute, ...], int, bool]:
    """Split the attribute area into ``(key, value)``; return them, the offset of the
    Message-Authenticator value (-1 if absent) and whether there is an EAP-Message.

    RFC 2865 §5: "If an Attribute is received in an Access-Request but with an invalid
    Length, an Access-Reject SHOULD be transmitted." -- a Length that runs past the
    packet makes the whole packet unparseable, so it is discarded as malformed.
    """
    attrs: list[Attribute] = []
    append = attrs.append
    pos = HEADER_LENGTH
    ma_offset = -1
    eap = False
    special = _SPECIAL
    while pos < end:
        atype = data[pos]
        try:
            nxt = pos + data[pos + 1]
        except IndexError:
            raise DecodeError(errors.MALFORMED, f"truncated attribute header at {pos}") from None
        if nxt <= pos + 1 or nxt > end:
            raise DecodeError(errors.MALFORMED, f"attribute {atype} length {nxt - pos} at {pos}")
        if atype in special:
            if atype == _VSA:
                if nxt - pos >= 8:
                    # RFC 2865 §5.26: Vendor-Id (4) then, "SHOULD be encoded as a sequence of
                    # vendor type / vendor length / value fields". Kept raw if it is not.
                    subs = _split_vsa(data, pos + 2, nxt)
                    if subs is not None:
                        attrs.extend(subs)
                        pos = nxt
                        continue
            elif atype == _EAP_MESSAGE:
                eap = True
            elif nxt - pos != 18 or ma_offset >= 0:
                # RFC 3579 §3.2: "Message-Authenticator ... Length 18"
                raise DecodeError(errors.MALFORMED, "Message-Authenticator length is not 18, or repeated")
            else:
                ma_offset = pos + 2
        append((atype, data[pos + 2:nxt]))
        pos = nxt
    return tuple(attrs), ma_offset, eap


def _split_vsa(data: bytes, start: int, end: int) -> list[Attribute] | None:
    vendor = int.from_bytes(data[start:start + 4], "big")
    if vendor == 0:
        return None
    subs: list[Attribute] = []
    pos = start + 4
    while pos < end:
        if pos + 2 > end:
            return None
        vlen = data[pos + 1]
        if vlen < 2 or pos + vlen > end:
            return None
        subs.append(((vendor, data[pos]), data[pos + 2:pos + vlen]))
        pos += vlen
    return subs


def _header(data: bytes) -> tuple[int, int, int]:
    """Code, identifier and the usable length (RFC 2865 §3 Length rules)."""
    size = len(data)
    if size < HEADER_LENGTH:
        raise DecodeError(errors.MALFORMED, f"{size} octets is shorter than a header")
    code, identifier, length = _HEADER.unpack_from(data)
    # RFC 2865 §3: "The minimum length is 20 and maximum length is 4096." ... "If the
    # packet is shorter than the Length field indicates, it MUST be silently discarded."
    # "Octets outside the range of the Length field MUST be treated as padding and
    # ignored on reception."
    if length < HEADER_LENGTH or length > MAX_PACKET_LENGTH or length > size:
        raise DecodeError(errors.MALFORMED, f"length field {length} for {size} octets")
    return code, identifier, length


def decode_packet(data: bytes) -> Packet:
    """Parse the structure only (no secret, nothing verified). For dumps and tests."""
    code, identifier, length = _header(data)
    attrs, _, _ = _walk(data, length)
    return trusted_packet(code, identifier, data[4:20], attrs)


def _message_authenticator(secret: bytes, data: bytes, ma_offset: int, authenticator: bytes,
                           length: int) -> bytes:
    """RFC 3579 §3.2: HMAC-MD5 over the packet with the Message-Authenticator zeroed and
    ``authenticator`` in the Authenticator field."""
    msg = b"".join((data[:4], authenticator, data[20:ma_offset], _ZERO16, data[ma_offset + 16:length]))
    return hmac_md5(secret, msg)


def decode_request(data: bytes, secret: bytes, *, require_message_authenticator: bool = False) -> Packet:
    """Decode and authenticate a request from a client that shares ``secret``.

    Raises ``DecodeError`` with reason ``malformed``, ``unsupported_code``,
    ``bad_authenticator``, ``bad_message_authenticator`` or ``missing_message_authenticator``.
    """
    code, identifier, length = _header(data)
    attrs, ma_offset, eap = _walk(data, length)
    authenticator = data[4:20]
    if code in _HASHED_AUTHENTICATOR:
        # RFC 2866 §3 / RFC 5176 §2.3: Request Authenticator = MD5(Code + Identifier +
        # Length + 16 zero octets + request attributes + shared secret).
        expected = md5(b"".join((data[:4], _ZERO16, data[20:length], secret))).digest()
        if not hmac.compare_digest(expected, authenticator):
            raise DecodeError(errors.BAD_AUTHENTICATOR, "request authenticator does not match")
        if ma_offset >= 0:
            # RFC 5176 §3.3 (and RFC 3579 §3.2 for accounting as FreeRADIUS does): the
            # Message-Authenticator is computed with the Request Authenticator zeroed.
            mac = _message_authenticator(secret, data, ma_offset, _ZERO16, length)
            if not hmac.compare_digest(mac, data[ma_offset:ma_offset + 16]):
                raise DecodeError(errors.BAD_MESSAGE_AUTHENTICATOR)
        return trusted_packet(code, identifier, authenticator, attrs)
    if code not in _RANDOM_AUTHENTICATOR:
        raise DecodeError(errors.UNSUPPORTED_CODE, f"code {code} is not a request")
    if ma_offset >= 0:
        # BlastRADIUS (CVE-2024-3596): a present Message-Authenticator is always checked,
        # whether the client is required to send one or not.
        mac = _message_authenticator(secret, data, ma_offset, authenticator, length)
        if not hmac.compare_digest(mac, data[ma_offset:ma_offset + 16]):
            raise DecodeError(errors.BAD_MESSAGE_AUTHENTICATOR)
    elif require_message_authenticator or eap or code == _STATUS_SERVER:
        # Per-client require_message_authenticator (BlastRADIUS); RFC 5997 §3: "Status-Server
        # packets MUST contain a Message-Authenticator"; RFC 3579 §3.2: "Access-Request
        # packets including an EAP-Message attribute without a Message-Authenticator
        # attribute SHOULD be silently discarded".
        raise DecodeError(errors.MISSING_MESSAGE_AUTHENTICATOR)
    return trusted_packet(code, identifier, authenticator, attrs)


def decode_reply(data: bytes, secret: bytes, request_authenticator: bytes, *,
                 require_message_authenticator: bool = False) -> Packet:
    """Decode and verify a reply to a request we sent with ``request_authenticator``.

    RFC 2865 §3: Response Authenticator = MD5(Code + ID + Length + RequestAuth +
    Attributes + Secret). A Message-Authenticator, if present, is verified (RFC 3579 §3.2:
    computed with the Request Authenticator of the request).
    """
    code, identifier, length = _header(data)
    attrs, ma_offset, _ = _walk(data, length)
    expected = md5(b"".join((data[:4], request_authenticator, data[20:length], secret))).digest()
    if not hmac.compare_digest(expected, data[4:20]):
        raise DecodeError(errors.BAD_AUTHENTICATOR, "response authenticator does not match")
    if ma_offset >= 0:
        mac = _message_authenticator(secret, data, ma_offset, request_authenticator, length)
        if not hmac.compare_digest(mac, data[ma_offset:ma_offset + 16]):
            raise DecodeError(errors.BAD_MESSAGE_AUTHENTICATOR)
    elif require_message_authenticator:
        # BlastRADIUS (CVE-2024-3596): a client that requires it discards Access-* replies
        # without a Message-Authenticator, so a forged Access-Accept cannot be spliced in.
        raise DecodeError(errors.MISSING_MESSAGE_AUTHENTICATOR)
    return trusted_packet(code, identifier, data[4:20], attrs)


def encode_attributes(attributes: Iterable[Attribute]) -> bytes:
    """Attributes to wire format; ``(vendor, type)`` keys become one RFC 2865 §5.26 VSA each."""
    parts: list[bytes] = []
    append = parts.append
    for key, value in attributes:
        size = len(value)
        if type(key) is int or isinstance(key, int):  # IntEnum keys (Attr.X) too
            if size > MAX_VALUE_LENGTH or not 0 < key < 256:
                raise EncodeError(f"attribute {key}: type out of range or value of {size} octets too long")
            append(bytes((key, size + 2)))
        else:
            vendor, vtype = key
            if size > MAX_VSA_VALUE_LENGTH:
                raise EncodeError(f"attribute {key}: value of {size} octets too long")
            try:
                append(_VSA_HEADER.pack(_VSA, size + 8, vendor, vtype, size + 2))
            except struct.error as exc:
                raise EncodeError(f"bad vendor attribute key {key!r}") from exc
        append(value)
    return b"".join(parts)


def _finish(code: int, identifier: int, authenticator: bytes, body: bytes, secret: bytes,
            with_ma: bool) -> tuple[bytes, bytes]:
    """Header + body with the Message-Authenticator (first attribute) filled in."""
    length = HEADER_LENGTH + len(body)
    if length > MAX_PACKET_LENGTH:
        raise EncodeError(f"packet of {length} octets exceeds {MAX_PACKET_LENGTH}")
    header = _HEADER.pack(code, identifier, length)
    if with_ma:
        mac = hmac_md5(secret, b"".join((header, authenticator, body)))
        body = b"".join((body[:2], mac, body[18:]))
    return header, body


_MA_PLACEHOLDER: Final = bytes((_MA, 18)) + _ZERO16


def encode_request(packet: Packet, secret: bytes, *, message_authenticator: bool = False) -> bytes:
    """Encode a request. For Access-Request/Status-Server ``packet.authenticator`` is the
    random Request Authenticator the caller chose; for Accounting/CoA/Disconnect it is
    ignored and computed (RFC 2866 §3, RFC 5176 §2.3). Any Message-Authenticator in
    ``packet.attributes`` is replaced by a computed one placed first when
    ``message_authenticator`` is set (always for Status-Server)."""
    attrs = [(k, v) for k, v in packet.attributes if k != _MA]
    with_ma = message_authenticator or packet.code == _STATUS_SERVER
    body = (_MA_PLACEHOLDER if with_ma else b"") + encode_attributes(attrs)
    if packet.code in _HASHED_AUTHENTICATOR:
        header, body = _finish(packet.code, packet.identifier, _ZERO16, body, secret, with_ma)
        auth = md5(b"".join((header, _ZERO16, body, secret))).digest()
        return b"".join((header, auth, body))
    header, body = _finish(packet.code, packet.identifier, packet.authenticator, body, secret, with_ma)
    return b"".join((header, packet.authenticator, body))


def encode_reply(request: Packet, code: int, attributes: Iterable[Attribute], secret: bytes, *,
                 message_authenticator: bool | None = None) -> bytes:
    """Encode a reply to ``request``.

    - RFC 2865 §5.33: Proxy-State attributes of the request "MUST be copied unmodified
      and in order into the response packet" (appended after ``attributes``; any
      Proxy-State in ``attributes`` is dropped).
    - BlastRADIUS (CVE-2024-3596) mitigation: every reply to an Access-Request or
      Status-Server carries a Message-Authenticator as its first attribute
      (``message_authenticator=None`` means "when the request is one of those").
    - RFC 2865 §3: Response Authenticator = MD5(Code + ID + Length + RequestAuth +
      Attributes + Secret).
    """
    if message_authenticator is None:
        message_authenticator = request.code in _RANDOM_AUTHENTICATOR
    attrs = [(k, v) for k, v in attributes if k != _MA and k != _PROXY_STATE]
    attrs.extend((k, v) for k, v in request.attributes if k == _PROXY_STATE)
    body = (_MA_PLACEHOLDER if message_authenticator else b"") + encode_attributes(attrs)
    header, body = _finish(code, request.identifier, request.authenticator, body, secret,
                           message_authenticator)
    auth = md5(b"".join((header, request.authenticator, body, secret))).digest()
    return b"".join((header, auth, body))


def attribute_keys(packet: Packet) -> list[AttrKey]:
    """The attribute keys in wire order (handy in dumps and tests)."""
    return [k for k, _ in packet.attributes]
