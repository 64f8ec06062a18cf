"""Diameter-ready reservations on the same buckets RADIUS draws from."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from quota.model import Bucket, Kind, Rated, RatingInput
from quota.protocol import micros_rounded
from quota.store import QuotaStore
from tests.quota.standin import record

T0 = 1_780_000_000
MB = 10**6


def draw_octets(inp: RatingInput) -> Rated:
    """RADIUS usage drawn from the octets buckets (no money)."""
    used = inp.delta.get("in", 0) + inp.delta.get("out", 0)
    return Rated(draws={"octets": used} if used else {})


async def _setup(store: QuotaStore, account: str) -> None:
    await store.put_account(account, period="2026-06")
    await store.grant(account, Bucket("promo", "octets", 100 * MB, priority=10, valid_until=T0 + 3600,
                                      thresholds=(50, 100)))
    await store.grant(account, Bucket("main", "octets", 1000 * MB, priority=20))


async def test_reserve_commit_release(store: QuotaStore, account: str) -> None:
    await _setup(store, account)
    r = await store.reserve(account, "ccr-1/rg10", "octets", 150 * MB, expires=T0 + 60, now=T0)
    assert r.granted == 150 * MB
    snap = await store.read(account)
    assert [(b.id, b.reserved, b.available) for b in snap.buckets] == [("promo", 100 * MB, 0),
                                                                       ("main", 50 * MB, 950 * MB)]
    c = await store.commit(account, "ccr-1/rg10", "octets", 120 * MB, now=T0 + 30)
    assert (c.covered, c.uncovered, c.fired) == (120 * MB, 0, ("bucket:promo:50", "bucket:promo:100"))
    snap = await store.read(account)
    assert [(b.id, b.remaining, b.reserved) for b in snap.buckets] == [("promo", 0, 0), ("main", 980 * MB, 0)]
    r2 = await store.reserve(account, "ccr-1/rg10", "octets", 100 * MB, expires=T0 + 90, now=T0 + 30)
    assert r2.granted == 100 * MB and r2.version > c.version
    assert await store.release(account, "ccr-1/rg10") == 100 * MB
    assert await store.release(account, "ccr-1/rg10") == 0
    assert all(b.reserved == 0 for b in (await store.read(account)).buckets)


async def test_grant_is_capped_and_radius_cannot_overspend(store: QuotaStore, account: str) -> None:
    await _setup(store, account)
    big = await store.reserve(account, "gy/1", "octets", 5000 * MB, expires=T0 + 60, now=T0)
    assert big.granted == 1100 * MB
    assert (await store.reserve(account, "gy/2", "octets", MB, expires=T0 + 60, now=T0)).granted == 0
    # a RADIUS session on the same account: nothing available while Diameter holds it all
    result = await store.apply_record(record(account, "r", Kind.INTERIM, T0 + 1, out=10 * MB), draw_octets)
    assert result.uncovered == {"octets": 10 * MB} and "unit:octets" in result.exhausted
    await store.commit(account, "gy/1", "octets", 600 * MB, now=T0 + 10)
    result = await store.apply_record(record(account, "r", Kind.INTERIM, T0 + 11, out=30 * MB), draw_octets)
    assert result.uncovered == {} and result.delta == {"out": 20 * MB}
    assert sum(b.remaining or 0 for b in (await store.read(account)).buckets) == 1100 * MB - 620 * MB


async def test_expired_reservations_are_swept(store: QuotaStore, account: str) -> None:
    await _setup(store, account)
    await store.reserve(account, "gy/a", "octets", 80 * MB, expires=T0 + 30, now=T0)
    await store.reserve(account, "gy/b", "octets", 80 * MB, expires=T0 + 300, now=T0)
    assert await store.sweep(account, T0 + 29) == []
    assert await store.sweep(account, T0 + 30) == ["gy/a"]
    snap = await store.read(account)
    assert [(b.id, b.reserved) for b in snap.buckets] == [("promo", 20 * MB), ("main", 60 * MB)]
    # reserve sweeps lazily too; a gateway that died gives its quota back
    got = await store.reserve(account, "gy/c", "octets", 1100 * MB, expires=T0 + 900, now=T0 + 301)
    assert got.granted == 1100 * MB
    # a commit after expiry still charges what was used, from what is available
    late = await store.commit(account, "gy/b", "octets", 10 * MB, now=T0 + 302)
    assert (late.covered, late.uncovered) == (0, 10 * MB)


async def test_expired_bucket_is_not_drawn(store: QuotaStore, account: str) -> None:
    await _setup(store, account)
    r = await store.reserve(account, "gy/x", "octets", 50 * MB, expires=T0 + 7200, now=T0 + 3600)
    snap = await store.read(account)
    assert r.granted == 50 * MB and [(b.id, b.reserved) for b in snap.buckets] == [("promo", 0),
                                                                                   ("main", 50 * MB)]


async def test_holds_share_what_is_left_between_sessions(store: QuotaStore, account: str) -> None:
    """Holds against a bundle's period counter (the caller computes what is left): each session's
    grant is capped by what the others hold, a new grant replaces the session's own, expired holds
    and released ones count no more."""
    await store.put_account(account, period="2026-06")
    version = (await store.read(account)).version
    first = await store.hold(account, "gy;1#10", 2 * MB, 3 * MB, expires=T0 + 60, now=T0, version=version)
    assert first is not None and (first.granted, first.left) == (2 * MB, 3 * MB)
    second = await store.hold(account, "gy;2#10", 2 * MB, 3 * MB, expires=T0 + 30, now=T0, version=version)
    assert second is not None and (second.granted, second.left) == (MB, MB)
    again = await store.hold(account, "gy;1#10", 2 * MB, 3 * MB, expires=T0 + 60, now=T0, version=version)
    assert again is not None and again.granted == 2 * MB  # its own hold is replaced, not added to
    third = await store.hold(account, "gy;3#20", MB, 3 * MB, expires=T0 + 60, now=T0, version=version)
    assert third is not None and (third.granted, third.left) == (0, 0)
    later = await store.hold(account, "gy;3#20", MB, 3 * MB, expires=T0 + 90, now=T0 + 31, version=version)
    assert later is not None and later.granted == MB  # gy;2's hold expired
    assert await store.unhold(account, ["gy;1#10", "gy;1#10", "gy;9#1"]) == 1
    last = await store.hold(account, "gy;4#10", 5 * MB, 3 * MB, expires=T0 + 90, now=T0 + 32, version=version)
    assert last is not None and last.granted == 2 * MB


async def test_a_hold_computed_from_stale_counters_is_refused(store: QuotaStore, account: str) -> None:
    await store.put_account(account, period="2026-06")
    before = (await store.read(account)).version
    await store.apply_record(record(account, "r", Kind.INTERIM, T0, out=MB), draw_octets)
    assert await store.hold(account, "gy;1#10", MB, 3 * MB, expires=T0 + 60, now=T0, version=before) is None
    now = (await store.read(account)).version
    held = await store.hold(account, "gy;1#10", MB, 2 * MB, expires=T0 + 60, now=T0, version=now)
    assert held is not None and held.granted == MB
    unchecked = await store.hold(account, "gy;2#10", 5 * MB, 2 * MB, expires=T0 + 60, now=T0, version=None)
    assert unchecked is not None and unchecked.granted == MB


async def test_money_holds_are_apart_from_octet_holds_and_released_with_them(store: QuotaStore,
                                                                           account: str) -> None:
    """A prepaid grant's price is held against the balance in a hash of its own: octets held against
    the bundles do not count against money, and a report or the session's end drops both."""
    await store.put_account(account, period="2026-06", mode="prepaid")
    version = (await store.read(account)).version
    octets = await store.hold(account, "gy;1#10", 2 * MB, 3 * MB, expires=T0 + 60, now=T0, version=version)
    assert octets is not None and octets.granted == 2 * MB
    price = micros_rounded(Decimal("0.0020000001"), ROUND_CEILING)
    balance = micros_rounded(Decimal("0.0025009"), ROUND_FLOOR)
    money = await store.hold(account, "gy;1#10", price, balance, expires=T0 + 60, now=T0, version=version,
                             pool="money")
    assert money is not None and (money.granted, money.left) == (2001, 2500)
    other = await store.hold(account, "gy;2#10", 1000, 2500, expires=T0 + 60, now=T0, version=version,
                             pool="money")
    assert other is not None and other.granted == 499  # what the first grant's price leaves
    held = await store.holds(account, T0)
    assert (held.octets, held.money) == (2 * MB, Decimal("0.002500"))
    assert await store.unhold(account, ["gy;1#10"]) == 2
    held = await store.holds(account, T0)
    assert (held.octets, held.money) == (0, Decimal("0.000499"))
