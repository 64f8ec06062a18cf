"""Encoding calls to, and decoding replies from, ``jet_read`` and ``jet_acct_apply`` (pure).

Also ``advance``: the state after a successful apply, computed from what was sent and
what came back, so the façade can apply the next record of a session without reading
first (the guards in ``jet_acct_apply`` make a stale guess harmless: it gets CONFLICT).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import msgpack

from quota.errors import AccountNotFound, DeltaMismatch
from quota.handoff import completed_from_hash
from quota.keys import meta_key
from quota.model import (
    AccountingRecord,
    ApplyResult,
    Bucket,
    Kind,
    Rated,
    SessionState,
    Snapshot,
    from_micros,
)

_MICRO = Decimal("0.000001")
_ZERO = Decimal(0)


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def flat_map(flat: Sequence[Any]) -> dict[str, Any]:
    return {text(flat[i]): flat[i + 1] for i in range(0, len(flat), 2)}


def ints(flat: Sequence[Any]) -> dict[str, int]:
    return {k: int(v) for k, v in flat_map(flat).items()}


def decimals(flat: Sequence[Any]) -> dict[str, Decimal]:
    return {k: Decimal(text(v)) for k, v in flat_map(flat).items()}


def pack(value: Any) -> bytes:
    """msgpack; Decimal, date, set and other mappings on the way as ``plain`` makes them (the
    explanations from rating.explain are plain already, so this costs nothing for them)."""
    packed: bytes = msgpack.packb(value, use_bin_type=True, default=_plain_one)
    return packed


def _plain_one(value: Any) -> Any:
    converted = plain(value)
    if converted is value:  # not a type plain() knows
        raise TypeError(f"cannot pack {type(value).__name__}")
    return converted


def plain(value: Any) -> Any:
    """Explanations as plain msgpack values: Decimal as string, datetime/date as ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def micros_rounded(amount: Decimal, rounding: str = ROUND_HALF_UP) -> int:
    """Money as Redis keeps it: whole micro-units (half up; a hold's price rounds up, the balance
    it is held against down)."""
    return int(amount.quantize(_MICRO, rounding).scaleb(6))


def parse_buckets(flat: Sequence[Any]) -> tuple[Bucket, ...]:
    h = flat_map(flat)
    out = [Bucket.parse(k, text(v), int(h.get(f"{k}:rem", 0)), int(h.get(f"{k}:rsv", 0)))
           for k, v in h.items() if ":" not in k]
    return tuple(sorted(out, key=lambda b: (b.priority, b.valid_until or 2**62, b.id)))


def parse_session(key: str, flat: Sequence[Any]) -> SessionState | None:
    if not flat:
        return None
    h = flat_map(flat)
    return SessionState(
        key=key, version=int(h.get("sv", 0)),
        last={n[2:]: int(v) for n, v in h.items() if n.startswith("c:")},
        totals={n[2:]: int(v) for n, v in h.items() if n.startswith("d:")},
        info={n: text(v) for n, v in h.items() if ":" not in n}, resets=int(h.get("resets", 0)),
        money={n[2:]: Decimal(text(v)) for n, v in h.items() if n.startswith("m:")},
        updated=int(h.get("upd", 0)))


def parse_snapshot(account: str, session_key: str, reply: Sequence[Any]) -> Snapshot:
    meta_f, ctr_f, bkt_f, sess_f, closed = reply
    meta = flat_map(meta_f)
    if not meta:
        raise AccountNotFound(account)
    return Snapshot(account=account, period=text(meta.get("period", b"")), version=int(meta.get("ver", 0)),
                    mode=text(meta["mode"]), currency=text(meta.get("cur", b"")),
                    balance=from_micros(int(meta.get("bal", 0))),
                    charges=from_micros(int(meta.get("chg", 0))),
                    counters=decimals(ctr_f), buckets=parse_buckets(bkt_f),
                    session=parse_session(session_key, sess_f), closed=bool(closed))


@dataclass(frozen=True)
class ApplyCall:
    keys: list[str]
    args: list[Any]
    counters: dict[str, Decimal]  # period counters after the apply
    money: dict[str, Decimal]  # the session's exact money totals after the apply
    info: dict[str, str]
    draws: dict[str, int]


def build_apply(record: AccountingRecord, snap: Snapshot, rated: Rated, tombstone_seconds: int) -> ApplyCall:
    key = record.session_key
    draws = {unit: int(qty) for unit, qty in rated.draws.items()}
    blob = bytearray()
    pools: dict[str, Decimal] = {}
    for charge in rated.charges:
        if not charge.pool.startswith("money"):
            raise ValueError(f"charge pool {charge.pool!r} must be 'money' or 'money:<pool>'")
        pools[charge.pool] = pools.get(charge.pool, _ZERO) + charge.amount
        blob += pack({"amount": str(charge.amount), "pool": charge.pool, "period": snap.period,
                      "at": record.now, "detail": charge.detail})
    # Money reaches Redis in micro-units. The session keeps its exact total per pool and each
    # record posts round(new total) - round(old total): rounding never accumulates over interims.
    old_money = snap.session.money if snap.session else {}
    money: dict[str, Decimal] = {}
    for pool, amount in pools.items():
        before = old_money.get(pool, _ZERO)
        money[pool] = before + amount
        draws[pool] = draws.get(pool, 0) + micros_rounded(money[pool]) - micros_rounded(before)
    counters = {name: snap.counters.get(name, _ZERO) + Decimal(inc)
                for name, inc in rated.increments.items() if inc}
    info: dict[str, str] = {}
    if snap.session is None:  # stored only when the session is new
        info = {"nas": record.nas, "asid": record.session_id, "realm": record.realm, "user": record.user}
    if record.kind is Kind.STOP:
        info["cause"] = record.cause
    params = {"sid": key, "now": record.now, "seen": record.seen_at, "period": snap.period,
              "ver": snap.version, "sv": snap.session.version if snap.session else 0,
              "counters": dict(record.counters),
              "set": {n: str(v) for n, v in counters.items()}, "draws": draws,
              "thresholds": list(rated.thresholds), "exhausted": list(rated.exhausted), "info": info,
              "final": record.kind is Kind.STOP, "keep": tombstone_seconds,
              "money": {p: str(v) for p, v in money.items()}}
    keys = [meta_key(record.account)]
    args = [pack(params), bytes(blob)]
    return ApplyCall(keys, args, counters, money, info, draws)


def parse_apply(record: AccountingRecord, reply: Sequence[Any], delta: Mapping[str, int], attempt: int
                ) -> ApplyResult | None:
    """The typed result; None on CONFLICT or PERIOD (another process moved the account: re-read)."""
    status, version = text(reply[0]), int(reply[1])
    if status in ("CONFLICT", "PERIOD"):
        return None
    if status == "NOACCOUNT":
        raise AccountNotFound(record.account)
    if status == "CLOSED":
        return ApplyResult(version=version, delta={}, closed=True, attempts=attempt)
    applied = ints(reply[2])
    if applied != dict(delta):
        raise DeltaMismatch(f"Redis delta {applied} != rated delta {dict(delta)}")
    completed = None
    if reply[8]:
        completed = completed_from_hash(record.account, record.session_key, flat_map(reply[8]),
                                        reply[9] or None)
    return ApplyResult(version=version, delta=applied, fired=tuple(map(text, reply[3])) if reply[3] else (),
                       exhausted=tuple(dict.fromkeys(map(text, reply[4]))) if reply[4] else (),
                       opened=bool(reply[5]), resets=tuple(sorted(map(text, reply[6]))) if reply[6] else (),
                       uncovered=ints(reply[7]) if reply[7] else {}, attempts=attempt, completed=completed)


def advance(snap: Snapshot, record: AccountingRecord, call: ApplyCall, result: ApplyResult,
            reply: Sequence[Any]) -> tuple[Snapshot | None, SessionState | None]:
    """The account (without session) and the session after a successful apply, or None where
    they cannot be known without reading (buckets were drawn; the session was stopped)."""
    account: Snapshot | None = None
    if not (snap.buckets and call.draws):
        account = snap.evolve(version=result.version, counters={**snap.counters, **call.counters},
                          balance=from_micros(int(reply[11])), charges=from_micros(int(reply[12])),
                          session=None, closed=False)
    if result.completed is not None:
        return account, None
    before = snap.session
    last = dict(before.last) if before else {}
    upd = before.updated if before else 0
    totals = dict(before.totals) if before else {}
    for name, value in record.counters.items():
        if value >= last.get(name, 0) or record.now > upd:
            last[name] = value
        if result.delta.get(name, 0):
            totals[name] = totals.get(name, 0) + result.delta[name]
    info = dict(before.info) if before else {**call.info, "start": str(record.now)}
    session = SessionState(key=record.session_key, version=int(reply[10]), last=last, totals=totals,
                           info=info, resets=(before.resets if before else 0) + len(result.resets),
                           money={**(before.money if before else {}), **call.money},
                           updated=max(upd, record.now))
    return account, session
