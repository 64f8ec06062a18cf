"""Reservations for Diameter credit control, on the same buckets RADIUS draws from."""

from __future__ import annotations

from quota.caller import RedisCaller
from quota.keys import AccountKeys
from quota.model import Commit, Reservation
from quota.protocol import text


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
