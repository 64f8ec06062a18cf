"""Helpers for the quota layer: split a usage at an instant, read bundle state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from rating.calendar import to_us
from rating.errors import InvalidUsage
from rating.model import EMPTY, Plan, Usage
from rating.money import ZERO


def split_usage(usage: Usage, at: datetime) -> tuple[Usage, Usage]:
    """Cut ``usage`` at ``at`` (e.g. a billing period's end), quantities pro rata by time.

    Whole counts (octets, seconds, events) are split by integer division, the remainder
    going to the second part, so the parts add up exactly.
    """
    if not usage.start < at < usage.end:
        raise InvalidUsage("the split instant must lie strictly inside the usage")
    whole = to_us(usage.end) - to_us(usage.start)
    part = to_us(at) - to_us(usage.start)

    def cut(n: int) -> tuple[int, int]:
        first = n * part // whole
        return first, n - first

    def cut_dec(q: Decimal) -> tuple[Decimal, Decimal]:
        first = q * part / whole
        return first, q - first

    oi, oo, ev = cut(usage.octets_in), cut(usage.octets_out), cut(usage.events)
    sec = cut(usage.seconds) if usage.seconds is not None else (None, None)
    ki, ke = cut_dec(usage.kwh_import), cut_dec(usage.kwh_export)
    a = replace(
        usage,
        end=at,
        octets_in=oi[0],
        octets_out=oo[0],
        events=ev[0],
        seconds=sec[0],
        kwh_import=ki[0],
        kwh_export=ke[0],
    )
    b = replace(
        usage,
        start=at,
        octets_in=oi[1],
        octets_out=oo[1],
        events=ev[1],
        seconds=sec[1],
        kwh_import=ki[1],
        kwh_export=ke[1],
    )
    return a, b


def _empty() -> Mapping[str, str]:
    return EMPTY


@dataclass(frozen=True, slots=True)
class BundleState:
    """Where a bundle stands given the period counters (for Access-Accept, jetctl, the API)."""

    name: str
    kind: str
    size: Decimal
    used: Decimal
    remaining: Decimal
    exhausted: bool
    action: str
    reply: Mapping[str, str] = field(default_factory=_empty)


def bundle_state(plan: Plan, counters: Mapping[str, Decimal], at: datetime) -> list[BundleState]:
    """The state of each bundle of the plan's terms at ``at``.

    ``remaining`` of a time bundle is the Session-Timeout to grant; an exhausted bundle
    with action "throttle" means the Access-Accept carries its ``reply`` attributes, and
    "block" means reject.
    """
    out: list[BundleState] = []
    for b in plan.terms_at(at).bundles:
        used = counters.get(b.counter, ZERO)
        remaining = max(b.size - used, ZERO)
        out.append(
            BundleState(b.name, b.kind, b.size, used, remaining, remaining == 0, b.on_exhausted, b.reply)
        )
    return out
