"""Typed AVP values: the basic and derived data formats of RFC 6733 §4.2-4.3, to and from bytes."""

from __future__ import annotations

import ipaddress
import struct
from datetime import UTC, datetime, timedelta
from enum import Enum

from .errors import InvalidAvpLength, InvalidAvpValue

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_I = struct.Struct(">I")
_i = struct.Struct(">i")
_Q = struct.Struct(">Q")
_q = struct.Struct(">q")
_f = struct.Struct(">f")
_d = struct.Struct(">d")
_H = struct.Struct(">H")


class AvpType(Enum):
    """Basic and derived AVP data formats (RFC 6733 §4.2, §4.3)."""

    OCTET_STRING = "OctetString"
    INTEGER32 = "Integer32"
    INTEGER64 = "Integer64"
    UNSIGNED32 = "Unsigned32"
    UNSIGNED64 = "Unsigned64"
    FLOAT32 = "Float32"
    FLOAT64 = "Float64"
    GROUPED = "Grouped"
    ADDRESS = "Address"
    TIME = "Time"
    UTF8_STRING = "UTF8String"
    DIAMETER_IDENTITY = "DiameterIdentity"
    DIAMETER_URI = "DiameterURI"
    ENUMERATED = "Enumerated"
    IP_FILTER_RULE = "IPFilterRule"



# --- typed values (RFC 6733 §4.2, §4.3) -------------------------------------------------------

# RFC 6733 §4.3.1 Time: "The string MUST contain four octets, in the same format as the first four
# bytes are in the NTP timestamp format. The NTP timestamp format is defined in Section 3 of [RFC5905]."
NTP_EPOCH = datetime(1900, 1, 1, tzinfo=UTC)
NTP_ERA1 = datetime(2036, 2, 7, 6, 28, 16, tzinfo=UTC)


def _fixed(data: bytes, n: int, what: str) -> None:
    if len(data) != n:
        raise InvalidAvpLength(f"{what} needs {n} octets, got {len(data)}")


def decode_value(avp_type: AvpType, data: bytes) -> object:
    """Turn AVP data into a Python value; a bad value raises InvalidAvpLength/InvalidAvpValue."""
    match avp_type:
        case AvpType.UNSIGNED32:
            _fixed(data, 4, "Unsigned32")
            return int(_I.unpack(data)[0])
        case AvpType.INTEGER32 | AvpType.ENUMERATED:
            _fixed(data, 4, avp_type.value)
            return int(_i.unpack(data)[0])
        case AvpType.UNSIGNED64:
            _fixed(data, 8, "Unsigned64")
            return int(_Q.unpack(data)[0])
        case AvpType.INTEGER64:
            _fixed(data, 8, "Integer64")
            return int(_q.unpack(data)[0])
        case AvpType.FLOAT32:
            _fixed(data, 4, "Float32")
            return float(_f.unpack(data)[0])
        case AvpType.FLOAT64:
            _fixed(data, 8, "Float64")
            return float(_d.unpack(data)[0])
        case AvpType.UTF8_STRING | AvpType.DIAMETER_URI:
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidAvpValue(f"not UTF-8: {exc}") from None
        case AvpType.DIAMETER_IDENTITY:
            # RFC 6733 §4.3.1 DiameterIdentity: an FQDN or realm, ASCII on the wire.
            try:
                return data.decode("ascii")
            except UnicodeDecodeError:
                raise InvalidAvpValue("DiameterIdentity is not ASCII") from None
        case AvpType.ADDRESS:
            return decode_address(data)
        case AvpType.TIME:
            _fixed(data, 4, "Time")
            secs = _I.unpack(data)[0]
            # RFC 4330 §3: with the top bit clear the value is in the era 2036-2104.
            base = NTP_EPOCH if secs & 0x80000000 else NTP_ERA1
            return base + timedelta(seconds=secs)
        case _:  # OctetString, IPFilterRule; Grouped children are read through Avp.avps
            return data


def decode_address(data: bytes) -> IpAddress:
    # RFC 6733 §4.3.1 Address: two octets of AddressType (an IANA address family: 1 = IPv4,
    # 2 = IPv6), then the address.
    if len(data) < 2:
        raise InvalidAvpLength("Address shorter than its AddressType")
    family = _H.unpack_from(data)[0]
    if family == 1 and len(data) == 6:
        return ipaddress.IPv4Address(data[2:])
    if family == 2 and len(data) == 18:
        return ipaddress.IPv6Address(data[2:])
    raise InvalidAvpValue(f"unsupported Address family {family} / length {len(data)}")


def encode_value(avp_type: AvpType, value: object) -> bytes:
    """Python value -> AVP data. Raises ValueError/TypeError (a local programming error)."""
    try:
        match avp_type:
            case AvpType.UNSIGNED32:
                return _I.pack(_as_int(value))
            case AvpType.INTEGER32 | AvpType.ENUMERATED:
                return _i.pack(_as_int(value))
            case AvpType.UNSIGNED64:
                return _Q.pack(_as_int(value))
            case AvpType.INTEGER64:
                return _q.pack(_as_int(value))
            case AvpType.FLOAT32:
                return _f.pack(_as_float(value))
            case AvpType.FLOAT64:
                return _d.pack(_as_float(value))
    except struct.error as exc:
        raise ValueError(f"{value!r} does not fit {avp_type.value}: {exc}") from None
    match avp_type:
        case AvpType.UTF8_STRING | AvpType.DIAMETER_URI:
            return _as_str(value).encode("utf-8")
        case AvpType.DIAMETER_IDENTITY:
            return _as_str(value).encode("ascii")
        case AvpType.ADDRESS:
            addr = value if isinstance(value, IpAddress) else ipaddress.ip_address(_as_str(value))
            return _H.pack(1 if addr.version == 4 else 2) + addr.packed
        case AvpType.TIME:
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise TypeError("Time needs an aware datetime")
            secs = int((value - NTP_EPOCH).total_seconds())
            if secs >= 1 << 32:
                secs = int((value - NTP_ERA1).total_seconds())
            return _I.pack(secs)
        case AvpType.GROUPED:
            raise TypeError("build Grouped AVPs with Avp.grouped() or make_avp()")
        case _:
            if isinstance(value, str):
                return value.encode("utf-8")
            if not isinstance(value, bytes):
                raise TypeError(f"{avp_type.value} needs bytes, got {type(value).__name__}")
            return value


def _as_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected int, got {type(value).__name__}")
    return value


def _as_float(value: object) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(f"expected float, got {type(value).__name__}")
    return float(value)


def _as_str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected str, got {type(value).__name__}")
    return value
