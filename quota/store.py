"""QuotaStore: the typed async façade over the ``jet`` Redis functions.

The apply protocol (optimistic, see docs/quota.md):
  1. ``read``: one FCALL_RO returns the account's period, version, period counters,
     buckets, and the session's last applied counters and session version.
  2. the caller's pure ``rate_fn`` rates the delta (last counters -> record counters)
     against those period counters.
  3. ``jet_acct_apply`` applies it, guarded by the account version AND the session
     version; if either moved (another process applied something in between) it answers
     CONFLICT, nothing is written, and the loop goes back to 1 (bounded retries).
``apply_record`` runs that loop; on Stop it also hands the session to the stream.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import msgpack
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from quota import functions
from quota.batch import Batcher, Direct
from quota.delta import session_delta
from quota.errors import (
    AccountNotFound,
    ConflictError,
    DeltaMismatch,
    PeriodBehind,
    QuotaError,
    QuotaUnavailable,
)
from quota.handoff import completed_from_hash, stream_fields
from quota.keys import DEFAULT_SHARDS, SEP, AccountKeys, nas_index, reaper_index, session_stream, shard_of
from quota.model import (
    AccountingRecord,
    ApplyResult,
    Bucket,
    Commit,
    CompletedSession,
    Kind,
    OpenSession,
    Rated,
    RateFn,
    RatingInput,
    Reservation,
    RolloverResult,
    SessionState,
    Snapshot,
    TopupResult,
    from_micros,
    to_micros,
)

log = logging.getLogger(__name__)
_MICRO = Decimal("0.000001")

_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, RedisClusterException, OSError)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _map(flat: Sequence[Any]) -> dict[str, Any]:
    return {_s(flat[i]): flat[i + 1] for i in range(0, len(flat), 2)}


def _ints(flat: Sequence[Any]) -> dict[str, int]:
    return {k: int(v) for k, v in _map(flat).items()}


def _decimals(flat: Sequence[Any]) -> dict[str, Decimal]:
    return {k: Decimal(_s(v)) for k, v in _map(flat).items()}


def _micros_rounded(amount: Decimal) -> int:
    return int(amount.quantize(_MICRO, ROUND_HALF_UP).scaleb(6))


def _pack(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def _plain(value: Any) -> Any:
    """Explanations as plain msgpack values: Decimal as string, datetime/date as ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def _buckets(flat: Sequence[Any]) -> tuple[Bucket, ...]:
    h = _map(flat)
    out = [Bucket.parse(k, _s(v), int(h.get(f"{k}:rem", 0)), int(h.get(f"{k}:rsv", 0)))
           for k, v in h.items() if ":" not in k]
    return tuple(sorted(out, key=lambda b: (b.priority, b.valid_until or 2**62, b.id)))


class QuotaStore:
    """Per-account quota state in Redis. ``batch=True`` coalesces concurrent calls into pipelines."""

    def __init__(self, client: Redis | RedisCluster, *, batch: bool = False, shards: int = DEFAULT_SHARDS,
                 retries: int = 16, tombstone_seconds: int = 7 * 86400) -> None:
        self.client = client
        self.calls: Batcher | Direct = Batcher(client) if batch else Direct(client)
        self.shards = shards
        self.retries = retries
        self.tombstone_seconds = tombstone_seconds

    async def load_functions(self) -> int:
        """FUNCTION LOAD REPLACE the library (every primary of a cluster); returns its version."""
        try:
            return await functions.load_library(self.client)
        except _UNAVAILABLE as exc:
            raise QuotaUnavailable(str(exc)) from exc

    async def _fcall(self, name: str, keys: Sequence[str], args: Sequence[Any], ro: bool = False) -> Any:
        try:
            return await self.calls("FCALL_RO" if ro else "FCALL", name, len(keys), *keys, *args)
        except _UNAVAILABLE as exc:
            raise QuotaUnavailable(str(exc)) from exc
        except ResponseError as exc:
            if "NOACCOUNT" in str(exc):
                raise AccountNotFound(str(keys[0])) from exc
            raise QuotaError(f"{name}: {exc}") from exc

    async def _cmd(self, *command: Any) -> Any:
        try:
            return await self.calls(*command)
        except _UNAVAILABLE as exc:
            raise QuotaUnavailable(str(exc)) from exc
        except RedisError as exc:
            raise QuotaError(str(exc)) from exc

    # --- accounts, buckets, top-ups, periods -------------------------------------------------
    async def put_account(self, account: str, *, period: str, mode: str = "postpaid", currency: str = "NZD",
                          low_balance: Decimal = Decimal(0)) -> bool:
        """Create the account's quota state (or update mode/currency/low balance). True if created."""
        if mode not in ("prepaid", "postpaid"):
            raise ValueError(f"mode must be prepaid or postpaid, not {mode!r}")
        k = AccountKeys(account)
        reply = await self._fcall("jet_account_put", [k.meta],
                                  [mode, currency, to_micros(low_balance), period])
        return bool(reply[0])

    async def grant(self, account: str, bucket: Bucket) -> bool:
        """Add a bucket (idempotent by id). True if it was new."""
        k = AccountKeys(account)
        reply = await self._fcall("jet_bucket_put", [k.meta, k.buckets], [bucket.id, bucket.definition()])
        return bool(reply)

    async def topup(self, account: str, topup_id: str, amount: Decimal, now: int) -> TopupResult:
        """balance += amount once per ``topup_id``; a repeat returns applied=False and the balance."""
        k = AccountKeys(account)
        applied, bal = await self._fcall("jet_topup", [k.meta, k.topups, k.fired],
                                         [topup_id, to_micros(amount), now])
        return TopupResult(applied=bool(applied), balance=from_micros(int(bal)))

    async def rollover(self, account: str, period: str, now: int, grants: Iterable[Bucket] = ()
                       ) -> RolloverResult:
        """Enter ``period``: counters and fired thresholds reset, period-scoped and expired buckets
        removed, ``grants`` added. Returns the previous period's counters and charges (the fees
        hook: the caller posts the period's fees and invoice from them). Idempotent."""
        k = AccountKeys(account)
        payload = _pack([[b.id, b.definition()] for b in grants])
        reply = await self._fcall("jet_rollover", [k.meta, k.counters, k.buckets, k.fired],
                                  [period, now, payload])
        status = _s(reply[0])
        if status == "NOACCOUNT":
            raise AccountNotFound(account)
        if status == "SAME":
            return RolloverResult(rolled=False, period=_s(reply[1]))
        return RolloverResult(rolled=True, period=period, previous_period=_s(reply[1]),
                              previous_counters=_decimals(reply[2]),
                              previous_charges=from_micros(int(reply[3])), version=int(reply[4]))

    # --- read -----------------------------------------------------------------------------------
    async def read(self, account: str, session_key: str = "") -> Snapshot:
        """The account (and one session's) state; also what ``jetctl account show`` prints."""
        k = AccountKeys(account)
        skey = k.session(session_key) if session_key else k.meta
        meta_f, ctr_f, bkt_f, sess_f, closed = await self._fcall(
            "jet_read", [k.meta, k.counters, k.buckets, skey, k.closed], [session_key], ro=True)
        meta = _map(meta_f)
        if not meta:
            raise AccountNotFound(account)
        session = None
        if sess_f:
            h = _map(sess_f)
            session = SessionState(
                key=session_key, version=int(h.get("sv", 0)),
                last={n[2:]: int(v) for n, v in h.items() if n.startswith("c:")},
                totals={n[2:]: int(v) for n, v in h.items() if n.startswith("d:")},
                info={n: _s(v) for n, v in h.items() if ":" not in n}, resets=int(h.get("resets", 0)),
                money={n[2:]: Decimal(_s(v)) for n, v in h.items() if n.startswith("m:")},
                updated=int(h.get("upd", 0)))
        return Snapshot(account=account, period=_s(meta.get("period", b"")), version=int(meta.get("ver", 0)),
                        mode=_s(meta["mode"]), currency=_s(meta.get("cur", b"")),
                        balance=from_micros(int(meta.get("bal", 0))),
                        charges=from_micros(int(meta.get("chg", 0))), counters=_decimals(ctr_f),
                        buckets=_buckets(bkt_f), session=session, closed=bool(closed))

    # --- apply ----------------------------------------------------------------------------------
    async def apply_record(self, record: AccountingRecord, rate_fn: RateFn, *, period: str | None = None
                           ) -> ApplyResult:
        """Rate and apply one accounting record (Start, Interim or Stop) exactly once.

        ``rate_fn`` must be pure: it may run several times when other processes apply to the same
        account concurrently. ``period``: the period the caller expects the account to be in;
        if the account is behind, ``PeriodBehind`` is raised (run ``rollover``, then retry).
        """
        for attempt in range(1, self.retries + 1):
            snap = await self.read(record.account, record.session_key)
            if period is not None and snap.period < period:
                raise PeriodBehind(record.account, snap.period, period)
            if snap.closed:
                return ApplyResult(version=snap.version, delta={}, closed=True, attempts=attempt)
            last = snap.session.last if snap.session else {}
            upd = snap.session.updated if snap.session else 0
            delta, _ = session_delta(last, record.counters, record.now, upd)
            rated = rate_fn(RatingInput(record=record, snapshot=snap, delta=delta))
            result = await self.apply(record, snap, rated, delta, attempt)
            if result is not None:
                return await self._after_apply(record, result)
            if attempt > 2:
                await asyncio.sleep(random.uniform(0, 0.0005 * attempt))
        raise ConflictError(f"{record.account}: {self.retries} conflicting attempts for {record.session_key}")

    async def apply(self, record: AccountingRecord, snap: Snapshot, rated: Rated, delta: Mapping[str, int],
                    attempt: int = 1) -> ApplyResult | None:
        """One guarded jet_acct_apply call; None on CONFLICT (re-read and re-rate)."""
        k = AccountKeys(record.account)
        key = record.session_key
        draws = {unit: int(qty) for unit, qty in rated.draws.items()}
        blob = bytearray()
        pools: dict[str, Decimal] = {}
        for charge in rated.charges:
            if not charge.pool.startswith("money"):
                raise ValueError(f"charge pool {charge.pool!r} must be 'money' or 'money:<pool>'")
            pools[charge.pool] = pools.get(charge.pool, Decimal(0)) + charge.amount
            blob += _pack({"amount": str(charge.amount), "pool": charge.pool, "period": snap.period,
                           "at": record.now, "detail": _plain(charge.detail)})
        # Money reaches Redis in micro-units. The session keeps its exact total per pool and each
        # record posts round(new total) - round(old total): rounding never accumulates over interims.
        old_money = snap.session.money if snap.session else {}
        money: dict[str, str] = {}
        for pool, amount in pools.items():
            before = old_money.get(pool, Decimal(0))
            after = before + amount
            money[pool] = str(after)
            draws[pool] = draws.get(pool, 0) + _micros_rounded(after) - _micros_rounded(before)
        counters = {name: str(snap.counters.get(name, Decimal(0)) + Decimal(inc))
                    for name, inc in rated.increments.items() if inc}
        info = {"nas": record.nas, "asid": record.session_id, "realm": record.realm, "user": record.user}
        if record.kind is Kind.STOP:
            info["cause"] = record.cause
        args = [key, record.now, snap.period, snap.version, snap.session.version if snap.session else 0,
                _pack(dict(record.counters)), _pack(counters), _pack(draws),
                _pack(list(rated.thresholds)), _pack(list(rated.exhausted)), _pack(info), bytes(blob),
                "1" if record.kind is Kind.STOP else "0", self.tombstone_seconds, _pack(money)]
        keys = [k.meta, k.counters, k.buckets, k.fired, k.session(key), k.session_charges(key), k.open,
                k.closed, k.done_session(key), k.done_charges(key), k.done]
        reply = await self._fcall("jet_acct_apply", keys, args)
        status, version = _s(reply[0]), int(reply[1])
        if status in ("CONFLICT", "PERIOD"):
            return None
        if status == "NOACCOUNT":
            raise AccountNotFound(record.account)
        if status == "CLOSED":
            return ApplyResult(version=version, delta={}, closed=True, attempts=attempt)
        applied = _ints(reply[2])
        if applied != dict(delta):
            raise DeltaMismatch(f"Redis delta {applied} != rated delta {dict(delta)}")
        completed = None
        if reply[8]:
            completed = completed_from_hash(record.account, key, _map(reply[8]), reply[9] or None)
        return ApplyResult(version=version, delta=applied, fired=tuple(_s(x) for x in reply[3]),
                           exhausted=tuple(dict.fromkeys(_s(x) for x in reply[4])), opened=bool(reply[5]),
                           resets=tuple(sorted(_s(x) for x in reply[6])), uncovered=_ints(reply[7]),
                           attempts=attempt, completed=completed)

    async def _after_apply(self, record: AccountingRecord, result: ApplyResult) -> ApplyResult:
        """Index upkeep and the stream hand-off. The apply is already durable: failures here never
        raise (the result carries ``handed_off``; ``redeliver`` and the reaper repair the rest)."""
        member = f"{record.account}{SEP}{record.session_key}"
        reap = reaper_index(shard_of(record.account, self.shards))
        try:
            if result.opened and result.completed is None:
                await asyncio.gather(self._cmd("SADD", nas_index(record.nas), member),
                                     self._cmd("ZADD", reap, record.now, member))
            if result.completed is not None:
                handed = await self._hand_off(result.completed)
                if not result.opened:
                    await asyncio.gather(self._cmd("SREM", nas_index(record.nas), member),
                                         self._cmd("ZREM", reap, member))
                return replace(result, handed_off=handed)
        except QuotaError as exc:
            log.warning("quota: index upkeep after %s failed: %s", record.session_key, exc)
        return result

    async def _hand_off(self, session: CompletedSession) -> bool:
        k = AccountKeys(session.account)
        try:
            await self._cmd("XADD", session_stream(shard_of(session.account, self.shards)), "*",
                            *[x for kv in stream_fields(session).items() for x in kv])
            await self._fcall("jet_handoff_ack", [k.done_session(session.key), k.done_charges(session.key),
                                                  k.done], [session.key])
        except QuotaError as exc:
            log.warning("quota: hand-off of %s/%s pending: %s", session.account, session.key, exc)
            return False
        return True

    async def pending_handoffs(self, account: str) -> list[str]:
        return sorted(_s(m) for m in await self._cmd("SMEMBERS", AccountKeys(account).done))

    async def redeliver(self, account: str) -> int:
        """XADD again every stopped session of the account not yet acknowledged; returns how many."""
        k = AccountKeys(account)
        sent = 0
        for key in await self.pending_handoffs(account):
            fields, charges = await self._fcall("jet_handoff_get", [k.done_session(key), k.done_charges(key)],
                                                [], ro=True)
            if not fields:
                await self._fcall("jet_handoff_ack", [k.done_session(key), k.done_charges(key), k.done],
                                  [key])
                continue
            sent += await self._hand_off(completed_from_hash(account, key, _map(fields), charges or None))
        return sent

    # --- sessions -------------------------------------------------------------------------------
    async def sessions(self, account: str, *, updated_before: int | None = None) -> list[OpenSession]:
        """Open sessions of an account (only those last updated at or before ``updated_before``)."""
        k = AccountKeys(account)
        flat = await self._fcall("jet_sess_list", [k.open],
                                 ["+inf" if updated_before is None else updated_before], ro=True)
        return [OpenSession(account, key, int(float(ts))) for key, ts in _map(flat).items()]

    async def nas_sessions(self, nas: str) -> list[tuple[str, str]]:
        """(account, session key) of sessions opened on a NAS (index is best effort: check before use)."""
        members = await self._cmd("SMEMBERS", nas_index(nas))
        return sorted(tuple(_s(m).split(SEP, 1)) for m in members)  # type: ignore[misc]

    async def close_session(self, account: str, session_key: str, now: int, rate_fn: RateFn,
                            cause: str = "Lost-Service") -> ApplyResult:
        """Close a session with its last applied counters (reaper, Accounting-On/Off)."""
        snap = await self.read(account, session_key)
        if snap.session is None:
            return ApplyResult(version=snap.version, delta={}, closed=True)
        info = snap.session.info
        nas, _, asid = session_key.partition("/")
        record = AccountingRecord(account=account, nas=info.get("nas") or nas,
                                  session_id=info.get("asid") or asid, kind=Kind.STOP, now=now,
                                  counters=dict(snap.session.last),
                                  realm=info.get("realm", ""), user=info.get("user", ""), cause=cause)
        return await self.apply_record(record, rate_fn)

    async def close_nas(self, nas: str, now: int, rate_fn: RateFn, cause: str = "NAS-Reboot"
                        ) -> list[ApplyResult]:
        """Accounting-On/Off: close every open session of the NAS."""
        results = []
        for account, key in await self.nas_sessions(nas):
            results.append(await self.close_session(account, key, now, rate_fn, cause))
            await self._cmd("SREM", nas_index(nas), f"{account}{SEP}{key}")
        return results

    async def stale_sessions(self, now: int, older_than: int) -> list[OpenSession]:
        """Open sessions whose last update is older than ``now - older_than`` (for the reaper).

        The per-shard reaper index holds each session's update time as of its last check;
        candidates are verified against the account, refreshed if alive, dropped if gone."""
        cutoff = now - older_than
        stale: list[OpenSession] = []
        for shard in range(self.shards):
            index = reaper_index(shard)
            members = await self._cmd("ZRANGEBYSCORE", index, "-inf", cutoff)
            by_account: dict[str, list[str]] = {}
            for m in members:
                account, key = _s(m).split(SEP, 1)
                by_account.setdefault(account, []).append(key)
            for account, keys in by_account.items():
                open_now = {s.key: s for s in await self.sessions(account)}
                for key in keys:
                    member = f"{account}{SEP}{key}"
                    s = open_now.get(key)
                    if s is None:
                        await self._cmd("ZREM", index, member)
                    elif s.updated <= cutoff:
                        stale.append(s)
                    else:
                        await self._cmd("ZADD", index, s.updated, member)
        return stale

    # --- reservations (Diameter) ----------------------------------------------------------------
    def _rsv_keys(self, account: str) -> list[str]:
        k = AccountKeys(account)
        return [k.meta, k.buckets, k.reservations, k.reservation_expiry]

    async def reserve(self, account: str, reservation_id: str, unit: str, amount: int, expires: int,
                      now: int) -> Reservation:
        """Reserve up to ``amount`` of ``unit`` until ``expires`` (replaces this id's reservation)."""
        granted, version = await self._fcall("jet_reserve", self._rsv_keys(account),
                                             [reservation_id, unit, amount, expires, now])
        return Reservation(reservation_id, int(granted), int(version))

    async def commit(self, account: str, reservation_id: str, unit: str, used: int, now: int) -> Commit:
        """Consume ``used`` units (reserved first, then available) and drop the reservation."""
        keys = [*self._rsv_keys(account), AccountKeys(account).fired]
        covered, uncovered, fired, version = await self._fcall("jet_commit", keys,
                                                               [reservation_id, unit, used, now])
        return Commit(int(covered), int(uncovered), tuple(_s(f) for f in fired), int(version))

    async def release(self, account: str, reservation_id: str) -> int:
        return int(await self._fcall("jet_release", self._rsv_keys(account), [reservation_id]))

    async def sweep(self, account: str, now: int) -> list[str]:
        """Release the account's reservations that expired at or before ``now``."""
        return [_s(r) for r in await self._fcall("jet_sweep", self._rsv_keys(account), [now])]
