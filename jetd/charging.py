"""Charging: the bridge between an accounting record's delta and the pure rating engine.

``rate_fn_for(plan, context)`` returns the pure function the quota store calls (maybe
several times, when another process applied to the same account in between): it turns
the session's counter delta into rating Usage, prices it against the period counters
the store read, and maps the Rating onto what the store applies atomically — charges,
period-counter increments, and the thresholds to fire once per period.

Which usage a record carries follows the plan's meters: data (octets in/out), time
(session seconds), voice (one call per session, rated at Stop), energy (two counters
the NAS reports, in Wh, by configured attributes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType

from quota.model import Kind, Rated, RateFn, RatingInput
from quota.rating_bridge import rated_from_rating
from rating import Plan, Rating, Usage, rate

WH_PER_KWH = Decimal(1000)
EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class CallContext:
    """What the rater needs from the record besides counters (attributes for data classes,
    A and B numbers for calls)."""

    attributes: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    a_number: str = ""
    b_number: str = ""


def usage_types(plan: Plan, at: datetime) -> tuple[str, ...]:
    meters = plan.terms_at(at).meters
    kinds = [k for k in ("data", "time", "voice", "sms") if k in meters]
    if "energy_import" in meters or "energy_export" in meters:
        kinds.append("energy")
    return tuple(kinds)


def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def usages(inp: RatingInput, plan: Plan, ctx: CallContext) -> list[Usage]:
    """The pieces of usage this record's delta is, per the plan's meters."""
    record, snap, delta = inp.record, inp.snapshot, inp.delta
    session = snap.session
    started = int(session.info.get("start") or record.now) if session is not None else record.now
    # The previous record of this session (its event time): usage since then is this delta's.
    since = (session.updated or started) if session is not None else record.now
    end = _at(record.now)
    begin = _at(min(since, record.now))
    out: list[Usage] = []
    for kind in usage_types(plan, end):
        if kind == "data" and (delta.get("in", 0) or delta.get("out", 0)):
            out.append(Usage("data", begin, end, octets_in=delta.get("in", 0), octets_out=delta.get("out", 0),
                             attributes=ctx.attributes))
        elif kind == "time" and delta.get("time", 0):
            out.append(Usage("time", begin, end, seconds=delta["time"]))
        elif kind == "voice" and record.kind is Kind.STOP:
            seconds = int(record.counters.get("time", 0))
            if seconds > 0:
                out.append(Usage("voice", _at(started), end, seconds=seconds,
                                 a_number=ctx.a_number, b_number=ctx.b_number))
        elif kind == "sms" and delta.get("events", 0):
            out.append(Usage("sms", begin, end, events=delta["events"]))
        elif kind == "energy" and (delta.get("wh_import", 0) or delta.get("wh_export", 0)):
            out.append(Usage("energy", begin, end, kwh_import=Decimal(delta.get("wh_import", 0)) / WH_PER_KWH,
                             kwh_export=Decimal(delta.get("wh_export", 0)) / WH_PER_KWH))
    return out


def merged(ratings: list[Rating]) -> Rated:
    """One Rated for the record from the Rating of each piece of usage it carried."""
    parts = [rated_from_rating(r) for r in ratings]
    if len(parts) == 1:
        return parts[0]
    increments: dict[str, Decimal | int] = {}
    for part in parts:
        for key, value in part.increments.items():
            increments[key] = increments.get(key, 0) + value
    return Rated(charges=tuple(c for p in parts for c in p.charges), increments=increments,
                 thresholds=tuple(t for p in parts for t in p.thresholds),
                 exhausted=tuple(dict.fromkeys(e for p in parts for e in p.exhausted)))


def rate_fn_for(plan: Plan, ctx: CallContext) -> RateFn:
    """The pure rating function for one record of an account on ``plan``."""

    def rate_record(inp: RatingInput) -> Rated:
        counters: dict[str, Decimal] = dict(inp.snapshot.counters)
        ratings = []
        for usage in usages(inp, plan, ctx):
            rating = rate(usage, plan, counters)
            for key, value in rating.counters.items():
                counters[key] = counters.get(key, Decimal(0)) + value
            ratings.append(rating)
        return merged(ratings)

    return rate_record
