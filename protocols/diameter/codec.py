"""Sans-IO codec: bytes <-> Message. Hand-written with struct; raises only DecodeError subclasses.

Decoding walks every top-level AVP and, for the IETF Grouped AVPs (MSCC, Used-Service-Unit,
Subscription-Id…), checks the structure of their children too, so such a malformed message is
refused before any handler sees it. Children objects and typed values are built only when read; a
malformed 3GPP Service-Information subtree raises its DecodeError when (if) it is read, which the
transport answers like any other (5014/3009).
"""

from __future__ import annotations

import struct

from .avp import Avp, decode_avps, encode_avps
from .constants import DIAMETER_VERSION, HEADER_LENGTH, MAX_MESSAGE_LENGTH
from .dictionary import CHECKED_GROUPS
from .errors import (
    DecodeError,
    InvalidHeaderBits,
    InvalidMessageLength,
    UnsupportedVersion,
)
from .message import Header, Message

_HEADER = struct.Struct(">IIIII")


def message_length(buf: bytes | bytearray | memoryview, offset: int = 0) -> int | None:
    """The Message Length of the message starting at offset, or None if fewer than 4 bytes are there.

    Framing helper for stream transports. Raises InvalidMessageLength when the first word cannot start
    a Diameter message (the stream cannot be resynchronised after that). The version is left to
    decode_message, so a well-framed message of another version is answered with 5011.
    """
    if len(buf) - offset < 4:
        return None
    length = (buf[offset + 1] << 16) | (buf[offset + 2] << 8) | buf[offset + 3]
    # RFC 6733 §3: "Message Length ... indicates the length of the Diameter message including the
    # header fields and the padded AVPs. Thus, the Message Length field is always a multiple of 4."
    # A length that is not a multiple of 4 still frames the stream; decode_message answers it (5015).
    if length < HEADER_LENGTH or length > MAX_MESSAGE_LENGTH:
        raise InvalidMessageLength(f"message length {length}")
    return length


def decode_header(buf: bytes) -> Header:
    if len(buf) < HEADER_LENGTH:
        raise InvalidMessageLength(f"{len(buf)} bytes is shorter than a header")
    w0, w1, app, hbh, e2e = _HEADER.unpack_from(buf)
    return Header(w0 >> 24, w0 & 0xFFFFFF, w1 >> 24, w1 & 0xFFFFFF, app, hbh, e2e)


def decode_message(buf: bytes) -> Message:
    """Decode exactly one message. Anything malformed raises a DecodeError (header attached if read)."""
    if not isinstance(buf, bytes):
        buf = bytes(buf)
    header = decode_header(buf)
    try:
        if header.version != DIAMETER_VERSION:
            raise UnsupportedVersion(f"version {header.version}")
        if header.length != len(buf) or header.length & 3:
            raise InvalidMessageLength(f"header says {header.length} bytes, got {len(buf)}")
        flags = header.flags
        # RFC 6733 §3: the reserved flag bits "MUST be set to zero and ignored by the receiver", so
        # they are ignored (and not re-encoded); the E bit "MUST NOT be set in request messages",
        # which is answered with DIAMETER_INVALID_HDR_BITS ("an invalid combination").
        if (flags & 0xA0) == 0xA0:
            raise InvalidHeaderBits(f"invalid command flags {flags:#04x}")
        avps = decode_avps(buf, HEADER_LENGTH, header.length, CHECKED_GROUPS)
    except DecodeError as exc:
        exc.header = header
        raise
    return _trusted_message(header, avps)


def _trusted_message(h: Header, avps: tuple[Avp, ...]) -> Message:
    msg = object.__new__(Message)
    set_ = object.__setattr__
    f = h.flags
    set_(msg, "command_code", h.command_code)
    set_(msg, "application_id", h.application_id)
    set_(msg, "avps", avps)
    set_(msg, "request", bool(f & 0x80))
    set_(msg, "proxiable", bool(f & 0x40))
    set_(msg, "error", bool(f & 0x20))
    set_(msg, "retransmit", bool(f & 0x10))
    set_(msg, "hop_by_hop", h.hop_by_hop)
    set_(msg, "end_to_end", h.end_to_end)
    set_(msg, "_size", h.length)
    return msg


def encode_message(msg: Message) -> bytes:
    body = encode_avps(msg.avps)
    length = HEADER_LENGTH + len(body)
    if length > MAX_MESSAGE_LENGTH:
        raise ValueError(f"message of {length} bytes is too long")
    head = _HEADER.pack((DIAMETER_VERSION << 24) | length, (msg.flags << 24) | msg.command_code,
                        msg.application_id, msg.hop_by_hop, msg.end_to_end)
    return head + body


def set_hop_by_hop(encoded: bytes, hop_by_hop: int) -> bytes:
    """The same encoded message with another Hop-by-Hop Identifier (answers from the duplicate cache)."""
    return encoded[:12] + hop_by_hop.to_bytes(4, "big") + encoded[16:]
