"""Tiny stand-ins for the pure rating engine (which lives in ``rating/``), used by the quota tests.

They price the way the engine must for exact totals: the period's cumulative charge
F(counter) is quantized, and a record's charge is F(after) - F(before), so any split of
the same usage telescopes to the same total.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from quota.model import AccountingRecord, Charge, Kind, Rated, RatingInput

GB = 10**9
MICRO = Decimal("0.000001")
S2_BANDS = ((10 * GB, Decimal("2.00")), (50 * GB, Decimal("1.50")), (None, Decimal("1.00")))


def s2_cumulative(octets: int) -> Decimal:
    """Charge for ``octets`` of the period: first 10 GB 2.00/GB, next 40 GB 1.50, rest 1.00."""
    total, floor = Decimal(0), 0
    for ceiling, price in S2_BANDS:
        upper = octets if ceiling is None else min(octets, ceiling)
        if upper > floor:
            total += Decimal(upper - floor) / GB * price
        if ceiling is None or octets <= ceiling:
            break
        floor = ceiling
    return total.quantize(MICRO, ROUND_HALF_UP)


def octets(inp: RatingInput) -> int:
    return inp.delta.get("in", 0) + inp.delta.get("out", 0)


def s2_rate(inp: RatingInput) -> Rated:
    used = octets(inp)
    if not used:
        return Rated()
    before = inp.snapshot.counters.get("data", 0)
    amount = s2_cumulative(before + used) - s2_cumulative(before)
    return Rated(charges=(Charge(amount, detail={"what": "data", "octets": used, "from": before}),),
                 increments={"data": used})


def s1_rate(inp: RatingInput) -> Rated:
    """100 GB included, no charge past it; warn at 80 %, exhausted at 100 %."""
    used = octets(inp)
    before = inp.snapshot.counters.get("data", 0)
    after = before + used
    crossed = tuple(f"data:{pct}" for pct in (80, 100) if before < pct * GB <= after)
    return Rated(increments={"data": used} if used else {}, thresholds=crossed,
                 exhausted=("data",) if after >= 100 * GB else ())


def s6_call_price(destination: str, seconds: int) -> Decimal:
    if destination.startswith("642"):  # NZ mobile 0.19/min, 30/6
        billed = 30 if seconds <= 30 else 30 + -(-(seconds - 30) // 6) * 6
        return (Decimal(billed) * Decimal("0.19") / 60).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    minutes = -(-seconds // 60)  # Australia 0.09/min 60/60 + 0.10
    return Decimal("0.09") * minutes + Decimal("0.10")


def s6_rate(inp: RatingInput) -> Rated:
    if not inp.final:
        return Rated()
    last = inp.snapshot.session.last if inp.snapshot.session else {}
    seconds = last.get("time", 0) + inp.delta.get("time", 0)
    amount = s6_call_price(inp.record.user, seconds)
    return Rated(charges=(Charge(amount, pool="money:voice", detail={"to": inp.record.user, "s": seconds}),))


def record(account: str, sid: str, kind: Kind, now: int, nas: str = "bras1", **counters: int
           ) -> AccountingRecord:
    return AccountingRecord(account=account, nas=nas, session_id=sid, kind=kind, now=now, counters=counters,
                            realm="example", user=f"user-{account}")
