"""Reservations for Diameter credit control: on the granted buckets RADIUS draws from
(``reserve``/``commit``), and holds against the plan's bundles, whose period counters both
protocols move, and against a prepaid balance (``hold``/``unhold``)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from quota.caller import RedisCaller
from quota.keys import AccountKeys
from quota.model import Commit, Held, Hold, Reservation, from_micros
from quota.protocol import text

POOLS = ("octets", "seconds", "money", "spend")


class ReservationOps(RedisCaller):
    def _rsv_keys(self, account: str) -> list[str]:
        k = AccountKeys(account)
        return [k.meta, k.buckets, k.reservations, k.reservation_expiry]

    async def reserve(self, account: str, reservation_id: str, unit: str, amount: int, expires: int,
                      now: int) -> Reservation:
        """Reserve up to ``amount`` of ``unit`` until ``expires`` (replaces this id's reservation).
        Expired reservations of the account are released first."""
        granted, version = await self._fcall("jet_reserve", self._rsv_keys(account),
                                             [reservation_id, unit, amount, expires, now])
        return Reservation(reservation_id, int(granted), int(version))

    async def commit(self, account: str, reservation_id: str, unit: str, used: int, now: int) -> Commit:
        """Consume ``used`` units (reserved first, then available) and drop the reservation.
        ``uncovered`` is what no bucket paid for: the caller rates and charges it."""
        keys = [*self._rsv_keys(account), AccountKeys(account).fired]
        covered, uncovered, fired, version = await self._fcall("jet_commit", keys,
                                                               [reservation_id, unit, used, now])
        return Commit(int(covered), int(uncovered), tuple(text(f) for f in fired), int(version))

    async def release(self, account: str, reservation_id: str) -> int:
        """Drop a reservation; returns the units given back (0 if there was none)."""
        return int(await self._fcall("jet_release", self._rsv_keys(account), [reservation_id]))

    async def sweep(self, account: str, now: int) -> list[str]:
        """Release the account's reservations that expired at or before ``now``."""
        return [text(r) for r in await self._fcall("jet_sweep", self._rsv_keys(account), [now])]

    async def hold(self, account: str, hold_id: str, wanted: int, left: int, expires: int, now: int,
                   version: int | None, *, pool: str = "octets") -> Hold | None:
        """Hold up to ``wanted`` units for ``hold_id`` (replacing its hold) until ``expires``: at most
        ``left`` (computed from the period counters read at account ``version``) less the account's
        other live holds. None when the counters moved since ``version``: read them again and retry
        (``version`` None: no check). ``pool``: ``octets`` of the data bundles, ``seconds`` of the
        time bundles, ``money``, micro-units (``quota.protocol.micros_rounded``) of the prepaid
        balance, or ``spend``, micro-units of what the money bundles that block have left; each in
        a hash of its own."""
        k = AccountKeys(account)
        reply = await self._fcall("jet_hold", [k.meta, _pool_key(k, pool)],
                                  [hold_id, wanted, left, expires, now, "" if version is None else version])
        if not int(reply[0]):
            return None
        return Hold(int(reply[1]), int(reply[2]))

    async def unhold(self, account: str, hold_ids: list[str]) -> int:
        """Drop holds, of units and of money (their usage was reported, or their session ended);
        returns how many there were."""
        if not hold_ids:
            return 0
        k = AccountKeys(account)
        return int(await self._fcall("jet_unhold", [_pool_key(k, pool) for pool in POOLS], hold_ids))

    async def holds(self, account: str, now: int, pools: Collection[str] = POOLS) -> Held:
        """Everything the account's Diameter sessions hold, not expired at ``now`` (in ``pools``
        only: the others read as nothing held)."""
        k = AccountKeys(account)
        names = [pool for pool in POOLS if pool in pools]
        found = dict(zip(names, await asyncio.gather(*(self._live(_pool_key(k, p), now) for p in names)),
                         strict=True))
        return Held(found.get("octets", 0), found.get("seconds", 0), from_micros(found.get("money", 0)),
                    from_micros(found.get("spend", 0)))

    async def _live(self, key: str, now: int) -> int:
        flat = await self._cmd("HGETALL", key)
        values = (text(v).split("|") for v in flat.values())
        return sum(int(amount) for amount, expires in values if int(expires) > now)


def _pool_key(k: AccountKeys, pool: str) -> str:
    keys = {"octets": k.holds, "seconds": k.time_holds, "money": k.money_holds, "spend": k.spend_holds}
    if pool not in keys:
        raise ValueError(f"hold pool {pool!r}: one of {', '.join(POOLS)}")
    return keys[pool]

