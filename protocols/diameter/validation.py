"""Checks on a received request before any handler sees it (RFC 6733 §7, RFC 4006 §3.1).

Raises the ProtocolError whose Result-Code the answer must carry.
"""

from __future__ import annotations

import struct

from .avp import Avp
from .constants import VENDOR_3GPP
from .dictionary import AVPS, COMMANDS
from .errors import (
    ApplicationUnsupported,
    AvpOccursTooManyTimes,
    AvpUnsupported,
    CommandUnsupported,
    InvalidAvpValue,
    MissingAvp,
)
from .message import Message
from .values import AvpType

GROUPED = AvpType.GROUPED
_II = struct.Struct(">II")
_I = struct.Struct(">I")

# Single-valued in every command we serve (fixed "< >" or "{ }" once in the CCFs of RFC 6733/4006).
_SINGLE = frozenset({263, 264, 296, 283, 293, 415, 416, 461})


def check_request(msg: Message, applications: set[int] | frozenset[int]) -> None:
    """Raise if `msg` (an application request) must be refused.

    Order: application (3007), command (3001), unknown M-bit AVPs (5001), required AVPs (5005),
    repeated single AVPs (5009), enumerated values (5004).
    """
    if msg.application_id not in applications:
        # RFC 6733 §7.1.3 DIAMETER_APPLICATION_UNSUPPORTED: a request for an application this node
        # does not support.
        raise ApplicationUnsupported(f"application {msg.application_id} is not supported here")
    cmd = COMMANDS.get((msg.command_code, msg.application_id))
    if cmd is None:
        # RFC 6733 §7.1.3 DIAMETER_COMMAND_UNSUPPORTED: a Command Code not recognised or supported.
        raise CommandUnsupported(f"command {msg.command_code} is not supported for application "
                                 f"{msg.application_id}")
    check_mandatory_bits(msg.avps, 0)
    present = {a.code for a in msg.avps if a.vendor_id == 0}
    for code in cmd.request_requires:
        if code not in present:
            # RFC 6733 §7.1.5 DIAMETER_MISSING_AVP: "the Failed-AVP AVP MUST contain an example of the
            # missing AVP complete with the Vendor-Id if applicable. The value field of the missing AVP
            # should be of correct minimum length and contain zeroes."
            raise MissingAvp(f"missing {code.name}", failed_avp=example_of(code))
    seen: set[int] = set()
    for a in msg.avps:
        if a.vendor_id == 0 and a.code in _SINGLE:
            if a.code in seen:
                raise AvpOccursTooManyTimes(f"AVP {a.code} repeated", failed_avp=a)
            seen.add(a.code)
    check_enumerations(msg.avps)


def check_mandatory_bits(avps: tuple[Avp, ...], depth: int) -> None:
    """RFC 6733 §4.1: "If an AVP with the 'M' bit set is received by a Diameter client, server, proxy,
    or translation agent and either the AVP or its value is unrecognized, the message MUST be rejected
    ... with DIAMETER_AVP_UNSUPPORTED".

    We walk IETF Grouped AVPs (whose grammar we know); 3GPP's Service-Information tree is open-ended
    and carries many AVPs Jet does not read, so its insides are not policed.
    """
    for a in avps:
        entry = AVPS.get((a.code, a.vendor_id))
        if entry is None:
            if a.mandatory:
                raise AvpUnsupported(f"unknown AVP {a.code} (vendor {a.vendor_id}) with the M bit",
                                     failed_avp=a)
            continue
        if entry.avp_type is GROUPED and a.vendor_id != VENDOR_3GPP:
            _check_raw(a.data, depth + 1)


def _check_raw(data: bytes, depth: int) -> None:
    """check_mandatory_bits over a Grouped AVP's raw data, building no objects (the decoder has
    already checked the structure; anything odd is left to the reader to report)."""
    unpack_ii, unpack_i = _II.unpack_from, _I.unpack_from
    pos, end = 0, len(data)
    while pos + 8 <= end:
        code, word = unpack_ii(data, pos)
        length = word & 0xFFFFFF
        if word & 0x80000000:
            if pos + 12 > end:
                return
            vendor, hlen = unpack_i(data, pos + 8)[0], 12
        else:
            vendor, hlen = 0, 8
        if length < hlen or pos + length > end:
            return
        entry = AVPS.get((code, vendor))
        if entry is None:
            if word & 0x40000000:
                bad = Avp(code, data[pos + hlen:pos + length], vendor, (word >> 24) & 0x60)
                raise AvpUnsupported(f"unknown AVP {code} (vendor {vendor}) with the M bit", failed_avp=bad)
        elif entry.avp_type is GROUPED and vendor != VENDOR_3GPP and depth < 8:
            _check_raw(data[pos + hlen:pos + length], depth + 1)
        pos += (length + 3) & ~3


def check_enumerations(avps: tuple[Avp, ...]) -> None:
    """Top-level Enumerated AVPs with a known value set must hold one of its values (5004)."""
    for a in avps:
        entry = AVPS.get((a.code, a.vendor_id))
        if entry is None or entry.enum is None:
            continue
        if len(a.data) != 4:
            raise InvalidAvpValue(f"{entry.name} needs 4 octets", failed_avp=a)
        value = int.from_bytes(a.data, "big", signed=True)
        try:
            entry.enum(value)
        except ValueError:
            # RFC 6733 §7.1.5 DIAMETER_INVALID_AVP_VALUE: the offending AVP goes in a Failed-AVP.
            raise InvalidAvpValue(f"{entry.name} = {value} is not a known value", failed_avp=a) from None


def example_of(code: int, vendor_id: int = 0) -> Avp:
    """A zero-filled AVP of the right type (the Failed-AVP example for DIAMETER_MISSING_AVP)."""
    entry = AVPS.get((int(code), vendor_id))
    if entry is None:
        return Avp(int(code), b"", vendor_id)
    sizes = {"Unsigned32": 4, "Integer32": 4, "Enumerated": 4, "Unsigned64": 8, "Integer64": 8,
             "Float32": 4, "Float64": 8, "Time": 4, "Address": 6}
    data = bytes(sizes.get(entry.avp_type.value, 0))
    if entry.avp_type.value == "Address":
        data = b"\x00\x01" + bytes(4)
    return Avp(int(code), data, vendor_id, 0x40 if entry.mandatory else 0)
