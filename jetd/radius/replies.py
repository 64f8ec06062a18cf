"""The attributes of an Access-Accept: the plan's, the account's, and Jet's own."""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable, Mapping

from protocols.radius.dictionary import Dictionary
from protocols.radius.errors import RadiusError
from protocols.radius.packet import Attr, Attribute

INTEGER_TYPES = frozenset({"integer", "byte", "short", "signed", "integer64", "date"})

# How a NAS is told a session's volume limit, by the client's ``vendor`` and by which octets the
# plan's data meter counts (in: from the subscriber, Acct-Input-Octets; out: to the subscriber):
# the attribute with the low 32 bits, and the one with the bits above (None: there is none).
VOLUME_LIMITS: Mapping[str, Mapping[str, tuple[str, str | None]]] = {
    "mikrotik": {"both": ("Mikrotik-Total-Limit", "Mikrotik-Total-Limit-Gigawords"),
                 "in": ("Mikrotik-Recv-Limit", "Mikrotik-Recv-Limit-Gigawords"),
                 "out": ("Mikrotik-Xmit-Limit", "Mikrotik-Xmit-Limit-Gigawords")},
    "chillispot": {"both": ("ChilliSpot-Max-Total-Octets", "ChilliSpot-Max-Total-Gigawords"),
                   "in": ("ChilliSpot-Max-Input-Octets", "ChilliSpot-Max-Input-Gigawords"),
                   "out": ("ChilliSpot-Max-Output-Octets", "ChilliSpot-Max-Output-Gigawords")},
    "pfsense": {"both": ("pfSense-Max-Total-Octets", None)},
}
_LOW32 = 0xFFFFFFFF


def encode_text(dictionary: Dictionary, name: str, text: str) -> Attribute:
    """``name = text`` as operators write it in a pricebook or users file."""
    attr = dictionary.attribute(name)
    if attr.datatype in INTEGER_TYPES and text not in attr.values:
        return dictionary.encode_attr(name, int(text))
    return dictionary.encode_attr(name, text)


def vendor_allows(dictionary: Dictionary, name: str, vendor: str) -> bool:
    """A NAS declared as ``vendor = "mikrotik"`` gets RFC attributes and MikroTik's; a
    ``generic`` NAS gets every attribute the plan names."""
    if vendor == "generic":
        return True
    owner = dictionary.attribute(name).vendor
    return owner is None or owner.lower() == vendor.lower()


def plan_attributes(dictionary: Dictionary, items: Iterable[tuple[str, str]], vendor: str
                    ) -> list[Attribute]:
    out: list[Attribute] = []
    for name, text in items:
        if name in dictionary and vendor_allows(dictionary, name, vendor):
            out.append(encode_text(dictionary, name, text))
    return out


def volume_attributes(dictionary: Dictionary, vendor: str, direction: str, octets: int,
                      named: Collection[str] = ()) -> list[Attribute]:
    """A volume limit of ``octets`` (> 0) in the attributes of the NAS's vendor; none for a
    vendor without them, or when the plan or account names that attribute itself (``named``).
    Without a Gigawords attribute the limit is at most 4 GiB a session (the next login gets the
    rest)."""
    low, high = VOLUME_LIMITS.get(vendor.lower(), {}).get(direction, (None, None))
    if low is None or low not in dictionary or low in named:
        return []
    if high is None or high not in dictionary:
        return [dictionary.encode_attr(low, min(octets, _LOW32))]
    if octets > _LOW32 and not octets & _LOW32:
        octets -= 1  # low word 0 with Gigawords set: a NAS may read the 0 as "no limit"
    attrs = [dictionary.encode_attr(low, octets & _LOW32)]
    if octets > _LOW32:
        attrs.append(dictionary.encode_attr(high, octets >> 32))
    return attrs


def accept_attributes(
    dictionary: Dictionary,
    *,
    vendor: str,
    plan_reply: Mapping[str, str],
    account_reply: Iterable[tuple[str, str]],
    interim_interval: int | None,
    session_timeout: int | None,
    framed_ip: str | None,
    pool: str | None,
    klass: bytes,
    volume: tuple[str, int] | None = None,
) -> list[Attribute]:
    """Plan attributes first, the account's own override them by name. ``volume``: (which octets,
    how many) the session may use, in the vendor's attributes."""
    merged = dict(plan_reply)
    merged.update(dict(account_reply))
    attrs = plan_attributes(dictionary, merged.items(), vendor)
    if volume is not None:
        attrs += volume_attributes(dictionary, vendor, volume[0], volume[1], merged)
    if interim_interval:
        attrs.append((int(Attr.ACCT_INTERIM_INTERVAL), interim_interval.to_bytes(4, "big")))
    if session_timeout is not None:
        attrs.append((int(Attr.SESSION_TIMEOUT), max(session_timeout, 0).to_bytes(4, "big")))
    if framed_ip:
        attrs.append((int(Attr.FRAMED_IP_ADDRESS), ipaddress.IPv4Address(framed_ip).packed))
    elif pool and "Framed-Pool" in dictionary:
        attrs.append(dictionary.encode_attr("Framed-Pool", pool))
    attrs.append((int(Attr.CLASS), klass))
    return attrs


def check_reply_items(dictionary: Dictionary, items: Mapping[str, str]) -> list[str]:
    """Problems with reply attributes a pricebook names (for --check)."""
    problems = []
    for name, text in items.items():
        try:
            encode_text(dictionary, name, text)
        except (RadiusError, ValueError, KeyError) as exc:
            problems.append(f"{name} = {text!r}: {exc}")
    return problems
