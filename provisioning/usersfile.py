"""FreeRADIUS ``users`` files: read them into accounts, write accounts out as one.

An entry is a line starting in column 0 with the name and its check items, then
indented reply-item lines, each but the last ending in a comma::

    alice   Cleartext-Password := "s3cret", Simultaneous-Use := 1
            Framed-IP-Address = 10.0.0.5,
            Mikrotik-Rate-Limit = "2M/2M"

Taken: Cleartext-Password / User-Password / NT-Password, Simultaneous-Use,
Auth-Type := Reject (a suspended account) as check items; Framed-IP-Address,
Framed-Pool and the common reply items in REPLY_ITEMS. Anything else — DEFAULT
entries, other check items, unknown reply attributes, syntax errors — is reported
with its line number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from provisioning.credentials import is_nt_hash
from provisioning.errors import ProvisioningError
from provisioning.models import Account, Actor, NewAccount

if TYPE_CHECKING:
    from provisioning.service import Service

REPLY_ITEMS = frozenset({
    "Reply-Message", "Session-Timeout", "Idle-Timeout", "Acct-Interim-Interval", "Filter-Id",
    "Framed-IP-Netmask", "Framed-Route", "Framed-Protocol", "Service-Type", "Framed-MTU", "Class",
    "Port-Limit", "Mikrotik-Rate-Limit", "Mikrotik-Address-List", "Mikrotik-Group",
    "WISPr-Bandwidth-Max-Up", "WISPr-Bandwidth-Max-Down", "WISPr-Redirection-URL", "Cisco-AVPair",
    "ChilliSpot-Bandwidth-Max-Up", "ChilliSpot-Bandwidth-Max-Down", "Delegated-IPv6-Prefix",
    "Framed-IPv6-Prefix", "Framed-IPv6-Pool",
})
ITEM_RE = re.compile(r'\s*([A-Za-z][A-Za-z0-9-]*)\s*(:=|==|\+=|=)\s*("(?:[^"\\]|\\.)*"|[^,\s]+)\s*')


@dataclass
class Entry:
    line: int
    name: str
    check: list[tuple[str, str, str]] = field(default_factory=list)
    reply: list[tuple[str, str, str]] = field(default_factory=list)
    reply_lines: dict[str, int] = field(default_factory=dict)  # attribute -> line it is on


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _items(text: str) -> tuple[list[tuple[str, str, str]], bool]:
    """Parse ``A op v, B op w[,]``; return the items and whether a comma ended the text."""
    out: list[tuple[str, str, str]] = []
    pos, trailing = 0, False
    text = text.rstrip()
    while pos < len(text):
        m = ITEM_RE.match(text, pos)
        if m is None:
            raise ValueError(f"cannot read {text[pos:].strip()!r}")
        out.append((m.group(1), m.group(2), _unquote(m.group(3))))
        pos = m.end()
        trailing = False
        if pos < len(text):
            if text[pos] != ",":
                raise ValueError(f"expected a comma before {text[pos:].strip()!r}")
            pos += 1
            trailing = True
    return out, trailing


def parse_users(text: str) -> tuple[list[Entry], list[LineError]]:
    entries: list[Entry] = []
    errors: list[LineError] = []
    current: Entry | None = None
    expect_more = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0] if '"' not in raw else _strip_comment(raw)
        if not line.strip():
            continue
        if not line[0].isspace():
            m = re.match(r'^("(?:[^"\\]|\\.)*"|\S+)\s*(.*)$', line)
            assert m is not None
            current, expect_more = Entry(number, _unquote(m.group(1))), True
            try:
                current.check, _ = _items(m.group(2))
            except ValueError as exc:
                errors.append(LineError(number, str(exc)))
                current = None
                continue
            entries.append(current)
            continue
        if current is None:
            if not any(e.line == number for e in errors):
                errors.append(LineError(number, "reply items without an entry"))
            continue
        if not expect_more:
            errors.append(LineError(number, "reply item after the entry ended (a comma missing before?)"))
            continue
        try:
            items, expect_more = _items(line)
        except ValueError as exc:
            errors.append(LineError(number, str(exc)))
            continue
        current.reply.extend(items)
        for attr, _op, _value in items:
            current.reply_lines[attr] = number
    return entries, errors


def _strip_comment(raw: str) -> str:
    quoted = False
    for i, ch in enumerate(raw):
        if ch == '"' and (i == 0 or raw[i - 1] != "\\"):
            quoted = not quoted
        elif ch == "#" and not quoted:
            return raw[:i]
    return raw


def entry_to_account(entry: Entry, realm: str, plan: str | None) -> NewAccount | LineError:
    """One entry as a NewAccount, or why it cannot be taken."""
    if entry.name.upper() == "DEFAULT":
        return LineError(entry.line, "DEFAULT entries are not accounts; Jet does this with plans")
    spec: dict[str, Any] = {"username": entry.name, "realm": realm, "plan": plan, "reply": {}}
    for attr, op, value in entry.check:
        if attr in ("Cleartext-Password", "User-Password") and op in (":=", "=="):
            spec["password"] = value
        elif attr == "NT-Password" and op in (":=", "=="):
            hexed = value[2:] if value.lower().startswith("0x") else value
            if not is_nt_hash(hexed):
                return LineError(entry.line, "NT-Password must be 32 hex digits")
            spec["nt_hash"] = hexed.lower()
        elif attr == "Simultaneous-Use" and value.isdigit():
            spec["simultaneous_use"] = int(value)
        elif attr == "Auth-Type" and value == "Reject":
            spec["status"] = "suspended"
        else:
            return LineError(entry.line, f"check item {attr} {op} {value!r} is not supported")
    for attr, op, value in entry.reply:
        where = entry.reply_lines.get(attr, entry.line)
        if op not in ("=", ":="):
            return LineError(where, f"reply operator {op} is not supported")
        if attr == "Framed-IP-Address":
            spec["static_ip"] = value
        elif attr == "Framed-Pool":
            spec["pool"] = value
        elif attr == "Fall-Through":
            continue
        elif attr in REPLY_ITEMS:
            spec["reply"][attr] = value
        else:
            return LineError(where, f"reply item {attr} is not supported")
    return NewAccount(**spec)


async def import_users(service: Service, actor: Actor, text: str, *, realm: str | None, partial: bool,
                       plan: str | None = None, default_realm: str = "default") -> dict[str, Any]:
    """Import a users file. Every line that cannot be taken is reported; nothing is
    imported if there is one, unless ``partial`` (then the rest is imported)."""
    entries, errors = parse_users(text)
    specs: list[tuple[int, NewAccount]] = []
    for entry in entries:
        if realm is None:
            where, name = await service.resolve_username(actor, entry.name)
        else:
            where, name = realm, entry.name
        entry.name = name
        result = entry_to_account(entry, where, plan)
        if isinstance(result, LineError):
            errors.append(result)
            continue
        try:  # the service's own rules, checked line by line before anything is written
            await service.check_new_account(actor, result)
        except ProvisioningError as exc:
            errors.append(LineError(entry.line, str(exc)))
            continue
        specs.append((entry.line, result))
    seen: dict[tuple[str, str], int] = {}
    for line, spec in list(specs):
        key = (spec.realm, spec.username)
        if key in seen:
            errors.append(LineError(line, f"{spec.username} is also on line {seen[key]}"))
            specs.remove((line, spec))
        seen.setdefault(key, line)
    errors.sort(key=lambda e: e.line)
    imported = 0
    if specs and (partial or not errors):
        imported = len(await service.create_accounts(actor, [s for _, s in specs]))
    return {"imported": imported, "errors": [{"line": e.line, "message": e.message} for e in errors],
            "entries": len(entries)}


def render_users(accounts: list[Account], *, with_realm: bool) -> str:
    """Accounts as a users file; non-default realms as ``user@realm`` when ``with_realm``."""
    out = ["# FreeRADIUS users file exported by Jet", ""]
    for a in accounts:
        if a.status == "closed":
            continue
        name = a.username if not with_realm or a.realm == "default" else f"{a.username}@{a.realm}"
        check: list[str] = []
        c = a.credentials
        if c.cleartext is not None:
            check.append(f"Cleartext-Password := {_quote(c.cleartext)}")
        elif c.nt_hash is not None:
            check.append(f"NT-Password := 0x{c.nt_hash.upper()}")
        else:
            out.append(f"# {name}: password kept only as a scrypt hash, which FreeRADIUS cannot check")
        if a.simultaneous_use is not None:
            check.append(f"Simultaneous-Use := {a.simultaneous_use}")
        if a.status == "suspended":
            check.append("Auth-Type := Reject")
        reply = []
        if a.static_ip:
            reply.append(f"Framed-IP-Address = {a.static_ip}")
        if a.pool:
            reply.append(f"Framed-Pool = {_quote(a.pool)}")
        reply += [f"{k} = {_quote(v)}" for k, v in a.reply.items()]
        quoted = name if re.fullmatch(r"[^\s\"#,]+", name) else _quote(name)
        out.append(f"{quoted}\t{', '.join(check)}".rstrip())
        out += [f"\t{r}{',' if i < len(reply) - 1 else ''}" for i, r in enumerate(reply)]
        out.append("")
    return "\n".join(out)
