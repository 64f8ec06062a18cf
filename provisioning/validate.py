"""Field rules shared by every interface; each failure is Invalid(field, reason)."""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from provisioning.errors import Invalid
from provisioning.models import AUTH_MODES

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_RE = re.compile(rf"^(?=.{{1,253}}$){LABEL}(\.{LABEL})*$")
USERNAME_RE = re.compile(r"^[^\s\x00-\x1f\x7f\"\\]{1,253}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PLAN_RE = re.compile(r"^\S.{0,127}$")
AMOUNT_LIMIT = Decimal("1e12")


def realm_name(value: str, field: str = "name") -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise Invalid(field, "1–64 of a-z 0-9 . _ -, starting with a letter or digit")
    return value


def domains(values: Any, field: str = "domains") -> tuple[str, ...]:
    if not isinstance(values, list | tuple):
        raise Invalid(field, "must be a list of domain names")
    out: list[str] = []
    for i, d in enumerate(values):
        if not isinstance(d, str) or not DOMAIN_RE.match(d.lower()):
            raise Invalid(f"{field}.{i}", "not a domain name")
        if d.lower() not in out:
            out.append(d.lower())
    return tuple(out)


def username(value: str, field: str = "username") -> str:
    if not isinstance(value, str) or not USERNAME_RE.match(value):
        raise Invalid(field, "1–253 characters, no spaces, quotes, backslashes or control characters")
    return value


def currency(value: str, field: str = "currency") -> str:
    if not isinstance(value, str) or not CURRENCY_RE.match(value):
        raise Invalid(field, "an ISO 4217 code such as EUR")
    return value


def decimal(value: Any, field: str, *, positive: bool = False, lo: Decimal | None = None,
            hi: Decimal | None = None) -> Decimal:
    if isinstance(value, float) or isinstance(value, bool):
        raise Invalid(field, "give a decimal string, not a float")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Invalid(field, "not a decimal number") from None
    if not number.is_finite():
        raise Invalid(field, "must be finite")
    if positive and number <= 0:
        raise Invalid(field, "must be greater than zero")
    if abs(number) >= AMOUNT_LIMIT:
        raise Invalid(field, "too large")
    if number.as_tuple().exponent < -8:  # type: ignore[operator]
        raise Invalid(field, "at most 8 decimal places")
    if lo is not None and number < lo:
        raise Invalid(field, f"must be at least {lo}")
    if hi is not None and number > hi:
        raise Invalid(field, f"must be at most {hi}")
    return number


def colour(value: str | None, field: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not COLOUR_RE.match(value)):
        raise Invalid(field, "a colour as #rrggbb")
    return value


def email(value: str | None, field: str = "email") -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > 254 or not EMAIL_RE.match(value)):
        raise Invalid(field, "not an e-mail address")
    return value


def cycle_day(value: int, field: str = "cycle_day") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 28:
        raise Invalid(field, "a day of the month from 1 to 28")
    return value


def simultaneous_use(value: int | None, field: str = "simultaneous_use") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10000:
        raise Invalid(field, "a whole number from 1 to 10000, or null for no limit")
    return value


def static_ip(value: str | None, field: str = "static_ip") -> str | None:
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise Invalid(field, "not an IP address") from None


def short_text(value: str | None, field: str, limit: int, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise Invalid(field, "required")
        return None
    if not isinstance(value, str) or len(value) > limit or any(
            ord(c) < 32 and c not in "\n\t" for c in value):
        raise Invalid(field, f"text of at most {limit} characters without control characters")
    if required and not value.strip():
        raise Invalid(field, "required")
    return value


def plan_name(value: str, field: str = "plan") -> str:
    if not isinstance(value, str) or not PLAN_RE.match(value) or len(value) > 128:
        raise Invalid(field, "a pricebook plan name (1–128 characters)")
    return value


def invoice_format(value: str, field: str = "invoice_format") -> str:
    if not isinstance(value, str) or "{seq" not in value or len(value) > 128:
        raise Invalid(field, "a format with {seq…}, e.g. INV-{realm}-{yyyy}-{seq:06}")
    try:
        value.format(realm="r", yyyy=2026, yy=26, mm=1, seq=1)
    except (KeyError, ValueError, IndexError, AttributeError):
        raise Invalid(field, "only {realm} {yyyy} {yy} {mm} {seq} may appear, e.g. {seq:06}") from None
    return value


def reply(value: Any, field: str = "reply") -> dict[str, str]:
    if not isinstance(value, dict):
        raise Invalid(field, "an object of attribute name to value")
    out: dict[str, str] = {}
    for k, v in value.items():
        if not isinstance(k, str) or not re.match(r"^[A-Za-z][A-Za-z0-9-]{0,63}$", k):
            raise Invalid(f"{field}.{k}", "not a RADIUS attribute name")
        if not isinstance(v, str) or len(v) > 253:
            raise Invalid(f"{field}.{k}", "a string of at most 253 characters")
        out[k] = v
    return out


def auth(mode: str, settings: Any) -> dict[str, Any]:
    if mode not in AUTH_MODES:
        raise Invalid("auth_mode", f"one of {', '.join(AUTH_MODES)}")
    if not isinstance(settings, dict):
        raise Invalid("auth_settings", "an object")
    if mode == "proxy":
        servers = settings.get("servers")
        if not isinstance(servers, list) or not servers:
            raise Invalid("auth_settings.servers", "proxy mode needs a list of upstream servers")
        for i, s in enumerate(servers):
            if not isinstance(s, dict) or not isinstance(s.get("address"), str) or not isinstance(
                    s.get("secret"), str):
                raise Invalid(f"auth_settings.servers.{i}", 'each server is {"address": …, "secret": …}')
    if mode == "ldap":
        url = settings.get("url")
        if not isinstance(url, str) or not url.startswith(("ldap://", "ldaps://")):
            raise Invalid("auth_settings.url", "ldap mode needs an ldap:// or ldaps:// url")
    return settings


def period_of(cycle: int, day: date) -> tuple[date, date]:
    """The billing period [start, end) that contains ``day`` for a cycle day."""
    start = day.replace(day=cycle) if day.day >= cycle else _add_months(day.replace(day=cycle), -1)
    return start, _add_months(start, 1)


def _add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    return d.replace(year=d.year + m // 12, month=m % 12 + 1)
