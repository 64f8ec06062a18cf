"""AVPs: the frozen `Avp`, lookups shared with `Message`, and the wire walk (typed values: values.py).

RFC 6733 §4.1:
       0                   1                   2                   3
      +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
      |                           AVP Code                            |
      |V M P r r r r r|                  AVP Length                   |
      |                        Vendor-ID (opt)                        |
      |    Data ...
RFC 6733 §4: "Each AVP of type OctetString MUST be padded to align on a 32-bit boundary ...
   The length of the padding is not reflected in the AVP Length field."

An `Avp` keeps its data as raw bytes; a Grouped AVP's children are walked only when asked for
(`Avp.avps`), and values are typed only when read, which keeps decoding a CCR cheap.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from .constants import AVP_FLAG_MANDATORY, AVP_FLAG_PROTECTED, VENDOR_3GPP, TgppAvpCode
from .errors import InvalidAvpBits, InvalidAvpLength, InvalidAvpValue
from .values import AvpType, IpAddress, decode_address, decode_value, encode_value

__all__ = ["Avp", "AvpContainer", "AvpType", "IpAddress", "decode_avps", "decode_value", "encode_avps",
           "encode_value", "vendor_of"]

MAX_U32 = 0xFFFFFFFF
MAX_AVP_DATA = 0xFFFFFF - 12

_II = struct.Struct(">II")
_III = struct.Struct(">III")
_I = struct.Struct(">I")
_i = struct.Struct(">i")
_Q = struct.Struct(">Q")
_q = struct.Struct(">q")
_PAD = (b"", b"\0\0\0", b"\0\0", b"\0")



def vendor_of(code: int, vendor_id: int | None = None) -> int:
    """The vendor a code belongs to: explicit, else 10415 for a TgppAvpCode, else IETF (0)."""
    if vendor_id is not None:
        return vendor_id
    return VENDOR_3GPP if type(code) is TgppAvpCode else 0


class AvpContainer:
    """Lookups shared by a Message and a Grouped AVP. Typed getters take the type from the caller
    (who knows the spec), return None when the AVP is absent and raise InvalidAvpLength /
    InvalidAvpValue (-> Result-Code 5014 / 5004) when its value is malformed."""

    __slots__ = ()

    def _items(self) -> tuple[Avp, ...]:
        raise NotImplementedError

    def find(self, code: int, vendor_id: int | None = None) -> Avp | None:
        vendor = vendor_id if vendor_id is not None else (VENDOR_3GPP if type(code) is TgppAvpCode else 0)
        for a in self._items():
            if a.code == code and a.vendor_id == vendor:
                return a
        return None

    def find_all(self, code: int, vendor_id: int | None = None) -> list[Avp]:
        vendor = vendor_of(code, vendor_id)
        return [a for a in self._items() if a.code == code and a.vendor_id == vendor]

    def _data_of(self, code: int, vendor_id: int | None) -> bytes | None:
        a = self.find(code, vendor_id)
        return None if a is None else a.data

    def _fixed(self, code: int, vendor_id: int | None, size: int, fmt: struct.Struct) -> int | None:
        data = self._data_of(code, vendor_id)
        if data is None:
            return None
        if len(data) != size:
            bad = self.find(code, vendor_id)
            raise InvalidAvpLength(f"AVP {int(code)} needs {size} octets", failed_avp=bad)
        return int(fmt.unpack(data)[0])

    def get_u32(self, code: int, vendor_id: int | None = None) -> int | None:
        """Unsigned32 (and Enumerated read unsigned)."""
        return self._fixed(code, vendor_id, 4, _I)

    def get_i32(self, code: int, vendor_id: int | None = None) -> int | None:
        """Integer32 and Enumerated."""
        return self._fixed(code, vendor_id, 4, _i)

    def get_u64(self, code: int, vendor_id: int | None = None) -> int | None:
        return self._fixed(code, vendor_id, 8, _Q)

    def get_i64(self, code: int, vendor_id: int | None = None) -> int | None:
        return self._fixed(code, vendor_id, 8, _q)

    def get_str(self, code: int, vendor_id: int | None = None) -> str | None:
        """UTF8String, DiameterIdentity, DiameterURI."""
        data = self._data_of(code, vendor_id)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            bad = self.find(code, vendor_id)
            raise InvalidAvpValue(f"AVP {int(code)} is not UTF-8", failed_avp=bad) from None

    def get_bytes(self, code: int, vendor_id: int | None = None) -> bytes | None:
        return self._data_of(code, vendor_id)

    def get_address(self, code: int, vendor_id: int | None = None) -> IpAddress | None:
        data = self._data_of(code, vendor_id)
        if data is None:
            return None
        try:
            return decode_address(data)
        except (InvalidAvpLength, InvalidAvpValue) as exc:
            exc.failed_avp = self.find(code, vendor_id)
            raise

    def get_time(self, code: int, vendor_id: int | None = None) -> datetime | None:
        data = self._data_of(code, vendor_id)
        if data is None:
            return None
        try:
            value = decode_value(AvpType.TIME, data)
        except InvalidAvpLength as exc:
            exc.failed_avp = self.find(code, vendor_id)
            raise
        assert isinstance(value, datetime)
        return value

    def get_group(self, code: int, vendor_id: int | None = None) -> Avp | None:
        return self.find(code, vendor_id)


@dataclass(frozen=True, slots=True)
class Avp(AvpContainer):
    """One AVP. `data` is the unpadded payload (for a Grouped AVP: the encoded children); `flags` holds
    the M and P bits (the V bit follows from `vendor_id`)."""

    code: int
    data: bytes
    vendor_id: int = 0
    flags: int = 0
    _children: tuple[Avp, ...] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.code <= MAX_U32:
            raise ValueError(f"AVP code out of range: {self.code}")
        if not 0 <= self.vendor_id <= MAX_U32:
            raise ValueError(f"Vendor-Id out of range: {self.vendor_id}")
        if not isinstance(self.data, bytes):
            raise TypeError("AVP data must be bytes")
        if len(self.data) > MAX_AVP_DATA:
            raise ValueError("AVP data too long for the 24-bit AVP Length")
        if self.flags & ~(AVP_FLAG_MANDATORY | AVP_FLAG_PROTECTED):
            raise ValueError(f"AVP flags may hold only the M and P bits, got {self.flags:#x}")

    @classmethod
    def grouped(cls, code: int, children: Iterable[Avp], *, vendor_id: int = 0, flags: int = 0) -> Avp:
        kids = tuple(children)
        avp = cls(code, encode_avps(kids), vendor_id, flags)
        object.__setattr__(avp, "_children", kids)
        return avp

    @property
    def mandatory(self) -> bool:
        return bool(self.flags & AVP_FLAG_MANDATORY)

    @property
    def protected(self) -> bool:
        return bool(self.flags & AVP_FLAG_PROTECTED)

    @property
    def length(self) -> int:
        """The AVP Length field: header plus unpadded data."""
        return (12 if self.vendor_id else 8) + len(self.data)

    def _cached(self) -> tuple[Avp, ...] | None:
        try:
            return self._children
        except AttributeError:  # built by the decoder's fast path, which leaves the slot empty
            return None

    def _scan(self, code: int, vendor_id: int | None, first: bool) -> list[Avp]:
        """Find children in the raw data without building the others (the decoder checked the structure
        of known Grouped AVPs; anything odd falls back to the full walk, which raises precisely)."""
        vendor = vendor_id if vendor_id is not None else (VENDOR_3GPP if type(code) is TgppAvpCode else 0)
        data = self.data
        end = len(data)
        unpack_ii, unpack_i = _II.unpack_from, _I.unpack_from
        found: list[Avp] = []
        pos = 0
        while pos + 8 <= end:
            c, word = unpack_ii(data, pos)
            length = word & 0xFFFFFF
            if word & 0x80000000:
                if pos + 12 > end:
                    break
                v, hlen = unpack_i(data, pos + 8)[0], 12
            else:
                v, hlen = 0, 8
            if length < hlen or pos + length > end or word & 0x1F000000:
                break
            if c == code and v == vendor:
                found.append(_new_avp(c, data[pos + hlen:pos + length], v, (word >> 24) & 0x60))
                if first:
                    return found
            pos += (length + 3) & ~3
        else:
            return found
        kids = self._items()  # malformed: raises the precise DecodeError
        return [a for a in kids if a.code == code and a.vendor_id == vendor]  # pragma: no cover

    def _data_of(self, code: int, vendor_id: int | None) -> bytes | None:
        # A single typed read of a group not yet walked (e.g. Called-Station-Id inside PS-Information)
        # scans the raw bytes instead of building every child; find()/find_all() build them once.
        if self._cached() is not None:
            return AvpContainer._data_of(self, code, vendor_id)
        found = self._scan(code, vendor_id, True)
        return found[0].data if found else None

    def _items(self) -> tuple[Avp, ...]:
        kids = self._cached()
        if kids is None:
            data = self.data
            kids = decode_avps(data, 0, len(data))
            object.__setattr__(self, "_children", kids)
        return kids

    @property
    def avps(self) -> tuple[Avp, ...]:
        """Children of a Grouped AVP (decoded on first use; raises DecodeError if malformed)."""
        return self._items()


_set_code = Avp.__dict__["code"].__set__
_set_data = Avp.__dict__["data"].__set__
_set_vendor = Avp.__dict__["vendor_id"].__set__
_set_flags = Avp.__dict__["flags"].__set__
_new = object.__new__


def _new_avp(code: int, data: bytes, vendor_id: int, flags: int) -> Avp:
    # Decoder fast path: the wire format already bounds every field, so skip __init__/__post_init__
    # and write the slots directly (a third of the cost of a frozen dataclass __init__).
    avp: Avp = _new(Avp)
    _set_code(avp, code)
    _set_data(avp, data)
    _set_vendor(avp, vendor_id)
    _set_flags(avp, flags)
    return avp


def encode_avp(avp: Avp) -> bytes:
    data = avp.data
    n = len(data)
    if avp.vendor_id:
        head = _III.pack(avp.code, ((avp.flags | 0x80) << 24) | (n + 12), avp.vendor_id)
    else:
        head = _II.pack(avp.code, (avp.flags << 24) | (n + 8))
    return head + data + _PAD[n & 3]


def encode_avps(avps: Iterable[Avp]) -> bytes:
    return b"".join([encode_avp(a) for a in avps])


def decode_avps(buf: bytes, start: int, end: int,
                grouped: frozenset[tuple[int, int]] = frozenset()) -> tuple[Avp, ...]:
    """Walk the AVPs in buf[start:end] (buf must be bytes). Raises InvalidAvpLength / InvalidAvpBits only.

    The children of AVPs whose (code, vendor) is in `grouped` are checked for structure (not built).
    """
    out: list[Avp] = []
    append = out.append
    unpack_ii = _II.unpack_from
    unpack_i = _I.unpack_from
    new, set_code, set_data, set_vendor, set_flags = _new, _set_code, _set_data, _set_vendor, _set_flags
    pos = start
    while pos < end:
        if end - pos < 8:
            raise InvalidAvpLength(f"truncated AVP header at offset {pos}")
        code, word = unpack_ii(buf, pos)
        length = word & 0xFFFFFF
        if word & 0x80000000:
            if end - pos < 12:
                raise InvalidAvpLength(f"truncated vendor AVP header at offset {pos}")
            vendor = unpack_i(buf, pos + 8)[0]
            hlen = 12
        else:
            vendor = 0
            hlen = 8
        nxt = pos + length
        if length < hlen or nxt > end or word & 0x1F000000:
            _raise_bad_avp(buf, pos, end, code, word, vendor, hlen)
        if grouped and (code, vendor) in grouped:
            check_avps(buf, pos + hlen, nxt, grouped, 1)
        avp = new(Avp)
        set_code(avp, code)
        set_data(avp, buf[pos + hlen:nxt])
        set_vendor(avp, vendor)
        set_flags(avp, (word >> 24) & 0x60)
        append(avp)
        pos += (length + 3) & ~3
    # Tolerate a last AVP whose padding the sender left out (pos may run up to 3 past end).
    return tuple(out)


def _raise_bad_avp(buf: bytes, pos: int, end: int, code: int, word: int, vendor: int, hlen: int) -> None:
    length = word & 0xFFFFFF
    flags = (word >> 24) & 0x60
    if length < hlen or pos + length > end:
        # RFC 6733 §7.1.5 DIAMETER_INVALID_AVP_LENGTH: the answer carries the offending AVP in a
        # Failed-AVP; we copy what there is of it.
        bad = _new_avp(code, bytes(buf[pos + hlen:end]) if end > pos + hlen else b"", vendor, flags)
        raise InvalidAvpLength(f"AVP {code} length {length} does not fit at offset {pos}", failed_avp=bad)
    # RFC 6733 §4.1: "The 'r' (reserved) bits are unused and SHOULD be set to 0 ... an unrecognized
    # bit SHOULD be considered an error" -> §7.1.3 DIAMETER_INVALID_AVP_BITS.
    bad = _new_avp(code, bytes(buf[pos + hlen:pos + length]), vendor, flags)
    raise InvalidAvpBits(f"reserved bits set in AVP {code} flags", failed_avp=bad)


def check_avps(buf: bytes, start: int, end: int, grouped: frozenset[tuple[int, int]], depth: int = 0) -> None:
    """Check the structure of buf[start:end] (and of Grouped AVPs inside it) without building objects."""
    unpack_ii = _II.unpack_from
    pos = start
    while pos < end:
        if end - pos < 8:
            break
        code, word = unpack_ii(buf, pos)
        length = word & 0xFFFFFF
        if word & 0x80000000:
            if end - pos < 12:
                break
            vendor = _I.unpack_from(buf, pos + 8)[0]
            hlen = 12
        else:
            vendor = 0
            hlen = 8
        if length < hlen or pos + length > end or word & 0x1F000000:
            break
        if (code, vendor) in grouped:
            if depth >= 8:
                raise InvalidAvpValue("Grouped AVPs nested too deep")
            check_avps(buf, pos + hlen, pos + length, grouped, depth + 1)
        pos += (length + 3) & ~3
    else:
        return
    decode_avps(buf, pos, end)  # the AVP at pos is bad: this raises the precise error
    raise InvalidAvpLength(f"inconsistent AVP at offset {pos}")  # pragma: no cover
