"""FreeRADIUS-format dictionaries: names <-> codes, types, vendors, typed values.

Our own small parser (rather than pyrad's) so that a bad file raises one clear
``DictionaryError`` naming the file and line, and so the dictionary knows about tags
and encryption flags the codec needs. It reads the v3 format: ``ATTRIBUTE``, ``VALUE``,
``VENDOR``, ``BEGIN-VENDOR``/``END-VENDOR``, ``$INCLUDE`` (and ``$INCLUDE-`` for an
optional file). RFC 6929 extended, TLV and non-1,1 vendor formats are recognised and
skipped (listed in ``Dictionary.skipped``): the codec keeps them as raw attributes.
FreeRADIUS-internal attributes (numbers above 255) are skipped too, and a VALUE may come
before its ATTRIBUTE, so FreeRADIUS's whole dictionary tree loads.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from protocols.radius import attributes as av
from protocols.radius.errors import DictionaryError, EncodeError, RadiusError
from protocols.radius.packet import Attribute, AttrKey, Packet

BUNDLED_DICTIONARY: Final = Path(__file__).resolve().parents[2] / "config" / "dictionaries" / "dictionary"

_SIMPLE_TYPES: Final = frozenset(av.ENCODERS)
_SKIPPED_TYPES: Final = frozenset({"tlv", "extended", "long-extended", "evs", "vsa", "struct", "group",
                                   "ipv4addr"})
# Flags with no value; "has_tag" matters to the codec, the others only to FreeRADIUS.
_BARE_FLAGS: Final = frozenset({"has_tag", "concat", "virtual", "array", "internal", "secret"})
_INTEGER_TYPES: Final = frozenset({"integer", "byte", "short", "signed", "integer64", "date"})


class UnknownAttribute(RadiusError, KeyError):
    """A name or code the loaded dictionaries do not define."""


@dataclass(frozen=True, slots=True)
class AttributeDef:
    """One attribute as the dictionary defines it."""

    name: str
    key: AttrKey
    datatype: str
    vendor: str | None = None
    has_tag: bool = False
    encrypt: int = 0  # 1: User-Password style (RFC 2865 §5.2); 2: salted (RFC 2868 §3.5)
    values: Mapping[str, int] = field(default_factory=dict)
    value_names: Mapping[int, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Builder:
    attrs: dict[str, AttributeDef] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # lower -> canonical
    vendors: dict[str, int] = field(default_factory=dict)
    vendor_names: dict[int, str] = field(default_factory=dict)
    unsupported_vendors: set[str] = field(default_factory=set)
    values: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    seen: set[Path] = field(default_factory=set)
    # VALUEs may come before their ATTRIBUTE (FreeRADIUS's dictionary.compat does): kept
    # here and resolved when everything is read.
    pending: list[tuple[str, str, int, str, int]] = field(default_factory=list)


class Dictionary:
    """Loaded dictionaries. Build with ``load_dictionary``."""

    def __init__(self, b: _Builder) -> None:
        by_name: dict[str, AttributeDef] = {}
        by_key: dict[AttrKey, AttributeDef] = {}
        for lname, attr in b.attrs.items():
            values = b.values.get(lname, {})
            full = AttributeDef(attr.name, attr.key, attr.datatype, attr.vendor, attr.has_tag, attr.encrypt,
                                # value -> name: the last name defined wins, as in FreeRADIUS
                                dict(values), {v: k for k, v in values.items()})
            by_name[lname] = full
            by_key[attr.key] = full
        self._by_name = by_name
        self._by_key = by_key
        self.vendors: Mapping[str, int] = dict(b.vendors)
        self.vendor_names: Mapping[int, str] = dict(b.vendor_names)
        self.skipped: tuple[str, ...] = tuple(b.skipped)

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_name

    def attribute(self, name: str) -> AttributeDef:
        try:
            return self._by_name[name.lower()]
        except KeyError:
            raise UnknownAttribute(f"unknown attribute {name!r}") from None

    def by_key(self, key: AttrKey) -> AttributeDef | None:
        return self._by_key.get(key)

    def key(self, name: str) -> AttrKey:
        return self.attribute(name).key

    def value_code(self, attr: str, value_name: str) -> int:
        try:
            return self.attribute(attr).values[value_name]
        except KeyError:
            raise UnknownAttribute(f"attribute {attr!r} has no value named {value_name!r}") from None

    def value_name(self, attr: str, code: int) -> str | None:
        return self.attribute(attr).value_names.get(code)

    def encode_attr(self, name: str, value: av.Value, *, tag: int = 0, secret: bytes | None = None,
                    authenticator: bytes | None = None, salt: bytes | None = None) -> Attribute:
        """``(key, raw)`` for ``name = value``. Integer attributes take VALUE names too.

        Encrypted attributes need the shared ``secret`` and the Request ``authenticator``
        of the request being answered (or sent); salted ones also a 2-octet ``salt``.
        """
        attr = self.attribute(name)
        if isinstance(value, str) and attr.datatype in _INTEGER_TYPES and value in attr.values:
            value = attr.values[value]
        raw = av.encode_value(attr.datatype, value)
        if attr.encrypt:
            if secret is None or authenticator is None:
                raise EncodeError(f"{attr.name} is encrypted: pass secret and authenticator")
            if attr.encrypt == 1:
                raw = av.hide_password(raw, secret, authenticator)
            else:
                if salt is None:
                    raise EncodeError(f"{attr.name} is salted: pass a 2-octet salt with the high bit set")
                raw = av.encrypt_salted(raw, secret, authenticator, salt)
        if attr.has_tag:
            if attr.encrypt == 2:
                # RFC 2868 §3.5: Tunnel-Password is always Tag, Salt, String.
                raw = av.join_tag(tag, raw, always=True)
            else:
                raw = av.join_tag(tag, raw, integer=attr.datatype == "integer")
        return attr.key, raw

    def decode_attr(self, key: AttrKey, raw: bytes, *, secret: bytes | None = None,
                    authenticator: bytes | None = None) -> tuple[str, int, av.Value]:
        """``(name, tag, value)`` for one attribute; integer values stay ints (see
        ``value_name`` for the VALUE name). Unknown keys raise ``UnknownAttribute``."""
        attr = self._by_key.get(key)
        if attr is None:
            raise UnknownAttribute(f"unknown attribute {key!r}")
        tag = 0
        if attr.has_tag:
            tag, raw = av.split_tag(raw, integer=attr.datatype == "integer", always=attr.encrypt == 2)
        if attr.encrypt:
            if secret is None or authenticator is None:
                return attr.name, tag, raw
            if attr.encrypt == 1:
                raw = av.unhide_password(raw, secret, authenticator)
            else:
                raw = av.decrypt_salted(raw, secret, authenticator)
        return attr.name, tag, av.decode_value(attr.datatype, raw)

    def decode(self, packet: Packet) -> list[tuple[str, av.Value]]:
        """Every attribute of ``packet`` by name (unknown ones as ``Attr-N``/``Vendor-V-Attr-N``
        with raw octets; encrypted ones left hidden). For dumps and logs, not the hot path."""
        out: list[tuple[str, av.Value]] = []
        for key, raw in packet.attributes:
            try:
                name, _tag, value = self.decode_attr(key, raw)
            except RadiusError:
                name = f"Attr-{key}" if isinstance(key, int) else f"Vendor-{key[0]}-Attr-{key[1]}"
                value = raw
            out.append((name, value))
        return out


def load_dictionary(paths: Iterable[str | os.PathLike[str]] = (BUNDLED_DICTIONARY,)) -> Dictionary:
    """Load FreeRADIUS dictionary files in order (later definitions win). Raises
    ``DictionaryError`` naming the file and line of the first problem."""
    b = _Builder()
    for path in paths:
        _parse_file(Path(path), b, None, 0)
    skipped = {s.lower() for s in b.skipped}
    for attr, name, number, where, line in b.pending:
        lname = b.names.get(attr.lower())
        if lname is not None:
            b.values.setdefault(lname, {})[name] = number
        elif attr.lower() not in skipped:
            raise DictionaryError(f"VALUE for unknown attribute {attr!r}", where, line)
    return Dictionary(b)


def _parse_file(path: Path, b: _Builder, includer: Path | None, line_no: int) -> None:
    try:
        resolved = path.resolve()
        text = resolved.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DictionaryError(f"cannot read {path}: {exc}", str(includer or path), line_no) from exc
    if resolved in b.seen:
        return
    b.seen.add(resolved)
    vendor: str | None = None
    for no, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        try:
            vendor = _parse_line(words, b, vendor, resolved, no)
        except DictionaryError:
            raise
        except (ValueError, KeyError, IndexError) as exc:
            raise DictionaryError(f"{' '.join(words)!r}: {exc}", str(path), no) from exc


def _parse_line(words: list[str], b: _Builder, vendor: str | None, path: Path, no: int) -> str | None:
    keyword = words[0]
    if keyword in ("$INCLUDE", "$INCLUDE-"):
        if len(words) != 2:
            raise DictionaryError(f"{keyword} takes one file name", str(path), no)
        target = Path(words[1]) if os.path.isabs(words[1]) else path.parent / words[1]
        if keyword == "$INCLUDE-" and not target.exists():
            return vendor
        _parse_file(target, b, path, no)
        return vendor
    if keyword == "ATTRIBUTE":
        _attribute(words, b, vendor, path, no)
        return vendor
    if keyword == "VALUE":
        if len(words) != 4:
            raise DictionaryError("VALUE takes: attribute name number", str(path), no)
        lname = b.names.get(words[1].lower())
        if lname is None:
            b.pending.append((words[1], words[2], _number(words[3]), str(path), no))
        else:
            b.values.setdefault(lname, {})[words[2]] = _number(words[3])
        return vendor
    if keyword == "VENDOR":
        if len(words) not in (3, 4):
            raise DictionaryError("VENDOR takes: name number [format=t,l]", str(path), no)
        number = _number(words[2])
        b.vendors[words[1]] = number
        b.vendor_names[number] = words[1]
        if len(words) == 4 and words[3] not in ("format=1,1", "format=1,1,c"):
            b.unsupported_vendors.add(words[1])
        return vendor
    if keyword == "BEGIN-VENDOR":
        if len(words) < 2 or words[1] not in b.vendors:
            raise DictionaryError(f"BEGIN-VENDOR of unknown vendor {words[1:2]}", str(path), no)
        return words[1]
    if keyword == "END-VENDOR":
        if len(words) != 2 or words[1] != vendor:
            raise DictionaryError(f"END-VENDOR {words[1:2]} does not close {vendor!r}", str(path), no)
        return None
    if keyword in ("BEGIN-TLV", "END-TLV"):
        return vendor
    raise DictionaryError(f"unknown keyword {keyword!r}", str(path), no)


def _number(text: str) -> int:
    """A decimal or 0x-hex number as FreeRADIUS reads it (leading zeros allowed)."""
    return int(text[2:], 16) if text[:2].lower() == "0x" else int(text, 10)


def _attribute(words: list[str], b: _Builder, vendor: str | None, path: Path, no: int) -> None:
    if len(words) not in (4, 5):
        raise DictionaryError("ATTRIBUTE takes: name number type [flags]", str(path), no)
    name, oid, datatype = words[1], words[2], words[3].lower()
    flags = words[4] if len(words) == 5 else ""
    attr_vendor = vendor
    if flags and "=" not in flags and not set(flags.split(",")) <= _BARE_FLAGS:
        attr_vendor, flags = flags, ""  # old format: the 5th word names the vendor
        if attr_vendor not in b.vendors:
            raise DictionaryError(f"unknown vendor {attr_vendor!r}", str(path), no)
    if "[" in datatype:  # octets[16]: fixed length, same wire type
        datatype = datatype.split("[", 1)[0]
    if datatype in _SKIPPED_TYPES or "." in oid or (attr_vendor in b.unsupported_vendors):
        b.skipped.append(name)
        return
    if datatype not in _SIMPLE_TYPES:
        raise DictionaryError(f"unknown data type {words[3]!r}", str(path), no)
    number = _number(oid)
    has_tag = False
    encrypt = 0
    for flag in filter(None, flags.split(",")):
        if flag == "has_tag":
            has_tag = True
        elif flag.startswith("encrypt="):
            encrypt = int(flag[8:])
            if encrypt not in (1, 2, 3):
                raise DictionaryError(f"unknown encryption {flag!r}", str(path), no)
        elif flag in _BARE_FLAGS:
            pass
        else:
            raise DictionaryError(f"unknown flag {flag!r}", str(path), no)
    if encrypt == 3:  # Ascend-Send-Secret: not supported, keep raw
        b.skipped.append(name)
        return
    key: AttrKey
    if attr_vendor is None:
        if number > 255:  # FreeRADIUS-internal (dictionary.freeradius.internal): never on the wire
            b.skipped.append(name)
            return
        if number < 1:
            raise DictionaryError(f"attribute number {number} out of range 1..255", str(path), no)
        key = number
    else:
        if not 0 <= number <= 255:
            raise DictionaryError(f"vendor attribute number {number} out of range 0..255", str(path), no)
        key = (b.vendors[attr_vendor], number)
    b.names[name.lower()] = name.lower()
    b.attrs[name.lower()] = AttributeDef(name, key, datatype, attr_vendor, has_tag, encrypt)
