"""Typed values that cross the quota façade. Money is Decimal here, micro-units in Redis."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from quota.delta import check_counters
from quota.errors import InvalidValue

MICROS = 1_000_000  # money in Redis: integer millionths of the currency unit
_MAX_MICROS = 2**53


def to_micros(amount: Decimal) -> int:
    """Exact conversion; a value finer than 1e-6 or past 2^53 micro-units is refused, never rounded."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidValue(f"money must be a finite Decimal, got {amount!r}")
    try:
        scaled = amount.scaleb(6)
        micros = int(scaled)
    except (InvalidOperation, OverflowError) as exc:
        raise InvalidValue(f"money {amount} cannot be stored") from exc
    if scaled != micros or abs(micros) >= _MAX_MICROS:
        raise InvalidValue(f"money {amount} is finer than 1e-6 or too large; quantize it when rating")
    return micros


def from_micros(micros: int) -> Decimal:
    return Decimal(micros).scaleb(-6)


class Kind(enum.StrEnum):
    START = "start"
    INTERIM = "interim"
    STOP = "stop"


@dataclass(frozen=True)
class AccountingRecord:
    """One accounting record as the edge decoded it; counters are CUMULATIVE for the session.

    ``counters`` names: ``in``/``out`` (64-bit octets, see ``delta.octets64``), ``time``
    (Acct-Session-Time), and any extra integer counter (e.g. ``wh_import``).
    ``session_key`` identifies the session (NAS + Acct-Session-Id) inside the account.
    """

    account: str
    nas: str
    session_id: str
    kind: Kind
    now: int
    counters: Mapping[str, int] = field(default_factory=dict)
    realm: str = ""
    user: str = ""
    cause: str = ""
    # When Jet received it (our clock; 0 = ``now``). The reaper goes by this, not by the
    # NAS's Event-Timestamp: a NAS clock that is off neither reaps early nor keeps a dead
    # session open.
    seen: int = 0

    @property
    def seen_at(self) -> int:
        return self.seen or self.now

    def __post_init__(self) -> None:
        check_counters(self.counters)
        if not self.session_id or not self.nas or "/" in self.nas:
            raise InvalidValue("nas (without '/') and session_id are required")

    @property
    def session_key(self) -> str:
        return f"{self.nas}/{self.session_id}"

    def to_wire(self) -> dict[str, Any]:
        return {"account": self.account, "nas": self.nas, "session_id": self.session_id,
                "kind": self.kind.value, "now": self.now, "counters": dict(self.counters),
                "realm": self.realm, "user": self.user, "cause": self.cause, "seen": self.seen}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> AccountingRecord:
        return cls(account=data["account"], nas=data["nas"], session_id=data["session_id"],
                   kind=Kind(data["kind"]), now=int(data["now"]), counters=dict(data["counters"]),
                   realm=data.get("realm", ""), user=data.get("user", ""), cause=data.get("cause", ""),
                   seen=int(data.get("seen", 0)))


@dataclass(frozen=True)
class Bucket:
    """A quota bucket: ``amount`` of ``unit`` (money units in micro-units), valid [from, until).

    ``unit`` is ``octets``, ``seconds``, any counter-like name, or ``money``/``money:<pool>``.
    Lower ``priority`` is drawn first, then the earliest expiry. ``period_scoped`` buckets are
    removed at roll-over. ``thresholds`` are percents of ``amount`` that fire once each.
    """

    id: str
    unit: str
    amount: int
    priority: int = 100
    valid_from: int = 0
    valid_until: int = 0
    plan: str = ""
    period_scoped: bool = False
    thresholds: tuple[int, ...] = ()
    remaining: int | None = None
    reserved: int = 0

    def __post_init__(self) -> None:
        bad = any("|" in t for t in (self.id, self.unit, self.plan))
        if bad or not self.id or not self.unit or ":" in self.id:
            raise InvalidValue(f"bucket {self.id!r}: id without ':' or '|', unit and plan without '|'")
        if not 0 <= self.amount < 2**53:
            raise InvalidValue(f"bucket amount {self.amount} out of range")

    @classmethod
    def money(cls, id: str, amount: Decimal, pool: str = "money", **kw: Any) -> Bucket:
        return cls(id=id, unit=pool, amount=to_micros(amount), **kw)

    @property
    def available(self) -> int:
        return (self.amount if self.remaining is None else self.remaining) - self.reserved

    def is_valid(self, now: int) -> bool:
        return self.valid_from <= now and (self.valid_until == 0 or now < self.valid_until)

    def definition(self) -> str:
        return "|".join([self.unit, str(self.priority), str(self.valid_from), str(self.valid_until),
                         str(self.amount), self.plan, "1" if self.period_scoped else "0",
                         ",".join(str(t) for t in self.thresholds)])

    @classmethod
    def parse(cls, id: str, definition: str, remaining: int, reserved: int) -> Bucket:
        p = definition.split("|")
        return cls(id=id, unit=p[0], priority=int(p[1]), valid_from=int(p[2]), valid_until=int(p[3]),
                   amount=int(p[4]), plan=p[5], period_scoped=p[6] == "1",
                   thresholds=tuple(int(t) for t in p[7].split(",") if t), remaining=remaining,
                   reserved=reserved)


@dataclass(frozen=True)
class SessionState:
    key: str
    version: int
    last: Mapping[str, int]
    totals: Mapping[str, int]
    info: Mapping[str, str]
    resets: int = 0
    money: Mapping[str, Decimal] = field(default_factory=dict)  # exact charges so far, per pool
    updated: int = 0  # event time of the newest record applied


@dataclass(frozen=True)
class Snapshot:
    """What the rater sees: the account's period counters and buckets, and the session's last counters."""

    account: str
    period: str
    version: int
    mode: str
    currency: str
    balance: Decimal
    charges: Decimal
    counters: Mapping[str, Decimal]  # period counters, exact (the engine's Decimal counters)
    buckets: tuple[Bucket, ...]
    session: SessionState | None = None
    closed: bool = False

    def evolve(self, **changes: Any) -> Snapshot:
        """``dataclasses.replace`` without its per-call introspection (this is on the hot path)."""
        new = object.__new__(Snapshot)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new


@dataclass(frozen=True)
class Charge:
    """One rated charge. ``pool`` says which money buckets may pay it (``money`` or ``money:<pool>``);
    ``detail`` is the explanation, a plain msgpack-able dict that goes to the invoicer as is."""

    amount: Decimal
    pool: str = "money"
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rated:
    """What the rater returns for one record's delta (the pure engine's output, mapped)."""

    charges: tuple[Charge, ...] = ()
    increments: Mapping[str, Decimal | int] = field(default_factory=dict)  # added to period counters
    draws: Mapping[str, int] = field(default_factory=dict)
    thresholds: tuple[str, ...] = ()
    exhausted: tuple[str, ...] = ()


@dataclass(frozen=True)
class RatingInput:
    record: AccountingRecord
    snapshot: Snapshot
    delta: Mapping[str, int]

    @property
    def final(self) -> bool:
        return self.record.kind is Kind.STOP


RateFn = Callable[[RatingInput], Rated]


@dataclass(frozen=True)
class CompletedSession:
    """A stopped session as handed to the invoicer (stream schema ``v`` = 1)."""

    account: str
    key: str
    session_id: str
    nas: str
    realm: str
    user: str
    start: int
    stop: int
    cause: str
    totals: Mapping[str, int]
    resets: int
    charges: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class ApplyResult:
    """Outcome of one record. ``closed``: the session had already stopped, nothing was applied."""

    version: int
    delta: Mapping[str, int]
    fired: tuple[str, ...] = ()
    exhausted: tuple[str, ...] = ()
    opened: bool = False
    resets: tuple[str, ...] = ()
    uncovered: Mapping[str, int] = field(default_factory=dict)
    closed: bool = False
    attempts: int = 1
    completed: CompletedSession | None = None
    handed_off: bool = False


@dataclass(frozen=True)
class RolloverResult:
    """``rolled`` False: already in that period. Otherwise the closed period's figures, for fees."""

    rolled: bool
    period: str
    previous_period: str = ""
    previous_counters: Mapping[str, Decimal] = field(default_factory=dict)
    previous_charges: Decimal = Decimal(0)
    version: int = 0


@dataclass(frozen=True)
class TopupResult:
    applied: bool
    balance: Decimal


@dataclass(frozen=True)
class OpenSession:
    account: str
    key: str
    updated: int


@dataclass(frozen=True)
class Reservation:
    id: str
    granted: int
    version: int


@dataclass(frozen=True)
class Hold:
    """A Diameter grant held: ``granted`` units, of ``left`` the account had besides its other holds."""

    granted: int
    left: int


@dataclass(frozen=True, slots=True)
class Held:
    """What an account's Diameter grants hold and have not reported yet, not expired."""

    octets: int  # against its data bundles
    seconds: int  # against its time bundles
    money: Decimal  # against its prepaid balance
    spend: Decimal = Decimal(0)  # against its money bundles that block


@dataclass(frozen=True)
class Commit:
    covered: int
    uncovered: int
    fired: tuple[str, ...]
    version: int
