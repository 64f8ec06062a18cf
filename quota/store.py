"""QuotaStore: the typed async façade over the ``jet`` Redis functions.

The apply protocol (optimistic, see docs/quota.md):
  1. ``read``: one FCALL_RO returns the account's period, version, period counters,
     buckets, and the session's last applied counters and session version.
  2. the caller's pure ``rate_fn`` rates the delta (last counters -> record counters)
     against those period counters.
  3. ``jet_acct_apply`` applies it, guarded by the account version AND the session
     version; if either moved (another process applied something in between) it answers
     CONFLICT, nothing is written, and the loop goes back to 1 (bounded retries).
``apply_record`` runs that loop; on Stop it also hands the session to the stream. After
a successful apply the façade knows the new state, so the next record of the session
skips step 1 (a snapshot cache; a stale guess only costs a CONFLICT and a read).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import replace
from decimal import Decimal

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from quota import functions
from quota.caller import UNAVAILABLE
from quota.credit import CreditSessionOps
from quota.delta import session_delta
from quota.errors import AccountNotFound, ConflictError, PeriodBehind, QuotaError, QuotaUnavailable
from quota.handoff import completed_from_hash, stream_fields
from quota.keys import DEFAULT_SHARDS, SEP, AccountKeys, nas_index, reaper_index, session_stream, shard_of
from quota.model import (
    AccountingRecord,
    ApplyResult,
    Bucket,
    CompletedSession,
    Kind,
    Rated,
    RateFn,
    RatingInput,
    RolloverResult,
    SessionState,
    Snapshot,
    TopupResult,
    from_micros,
    to_micros,
)
from quota.protocol import advance, build_apply, decimals, flat_map, pack, parse_apply, parse_snapshot, text
from quota.reservations import ReservationOps
from quota.resp import RespPipe
from quota.sessions import SessionOps

log = logging.getLogger(__name__)


class _Gate:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class QuotaStore(SessionOps, ReservationOps, CreditSessionOps):
    """Per-account quota state in Redis.

    ``batch=True`` coalesces concurrent calls into pipelines; ``cache_size`` bounds the
    snapshot cache (0 turns it off: every record is read first).
    """

    def __init__(self, client: Redis | RedisCluster, *, batch: bool = False, shards: int = DEFAULT_SHARDS,
                 retries: int = 16, tombstone_seconds: int = 7 * 86400, cache_size: int = 100_000,
                 fast: RespPipe | None = None) -> None:
        super().__init__(client, batch=batch, fast=fast)
        self.shards = shards
        self.retries = retries
        self.tombstone_seconds = tombstone_seconds
        self.cache_size = cache_size
        self._accounts: OrderedDict[str, Snapshot] = OrderedDict()
        self._sessions: OrderedDict[tuple[str, str], SessionState] = OrderedDict()
        self._locks: dict[str, _Gate] = {}

    async def load_functions(self) -> int:
        """FUNCTION LOAD REPLACE the library (every primary of a cluster); returns its version."""
        try:
            return await functions.load_library(self.client)
        except UNAVAILABLE as exc:
            raise QuotaUnavailable(str(exc)) from exc

    # --- accounts, buckets, top-ups, periods -------------------------------------------------
    async def put_account(self, account: str, *, period: str, mode: str = "postpaid", currency: str = "NZD",
                          low_balance: Decimal = Decimal(0)) -> bool:
        """Create the account's quota state (or update mode/currency/low balance). True if created."""
        if mode not in ("prepaid", "postpaid"):
            raise ValueError(f"mode must be prepaid or postpaid, not {mode!r}")
        k = AccountKeys(account)
        self._accounts.pop(account, None)
        reply = await self._fcall("jet_account_put", [k.meta],
                                  [mode, currency, to_micros(low_balance), period])
        return bool(reply[0])

    async def grant(self, account: str, bucket: Bucket) -> bool:
        """Add a bucket (idempotent by id). True if it was new."""
        k = AccountKeys(account)
        self._accounts.pop(account, None)
        reply = await self._fcall("jet_bucket_put", [k.meta, k.buckets], [bucket.id, bucket.definition()])
        return bool(reply)

    async def topup(self, account: str, topup_id: str, amount: Decimal, now: int) -> TopupResult:
        """balance += amount once per ``topup_id``; a repeat returns applied=False and the balance."""
        k = AccountKeys(account)
        self._accounts.pop(account, None)
        applied, bal = await self._fcall("jet_topup", [k.meta, k.topups, k.fired],
                                         [topup_id, to_micros(amount), now])
        return TopupResult(applied=bool(applied), balance=from_micros(int(bal)))

    async def rollover(self, account: str, period: str, now: int, grants: Iterable[Bucket] = ()
                       ) -> RolloverResult:
        """Enter ``period``: counters and fired thresholds reset, period-scoped and expired buckets
        removed, ``grants`` added. Returns the previous period's counters and charges (the fees
        hook: the caller posts the period's fees and invoice from them). Idempotent."""
        k = AccountKeys(account)
        self._accounts.pop(account, None)
        payload = pack([[b.id, b.definition()] for b in grants])
        reply = await self._fcall("jet_rollover", [k.meta, k.counters, k.buckets, k.fired],
                                  [period, now, payload])
        status = text(reply[0])
        if status == "NOACCOUNT":
            raise AccountNotFound(account)
        if status == "SAME":
            return RolloverResult(rolled=False, period=text(reply[1]))
        return RolloverResult(rolled=True, period=period, previous_period=text(reply[1]),
                              previous_counters=decimals(reply[2]),
                              previous_charges=from_micros(int(reply[3])), version=int(reply[4]))

    # --- read and the snapshot cache ------------------------------------------------------------
    async def read(self, account: str, session_key: str = "") -> Snapshot:
        """The account (and one session's) state; also what ``jetctl account show`` prints."""
        reply = await self._fcall("jet_read", [AccountKeys(account).meta], [session_key], ro=True)
        snap = parse_snapshot(account, session_key, reply)
        if session_key and not snap.closed:
            self._remember(account, session_key, snap.evolve(session=None), snap.session)
        return snap

    async def fired(self, account: str) -> list[str]:
        """Thresholds fired in the account's current period (``jetctl account show``)."""
        return sorted(text(m) for m in await self._cmd("SMEMBERS", AccountKeys(account).fired))

    def _remember(self, account: str, key: str, snap: Snapshot | None, session: SessionState | None) -> None:
        if not self.cache_size:
            return
        if snap is None:
            self._accounts.pop(account, None)
        else:
            self._accounts[account] = snap
            self._accounts.move_to_end(account)
            if len(self._accounts) > self.cache_size:
                self._accounts.popitem(last=False)
        if session is None:
            self._sessions.pop((account, key), None)
        else:
            self._sessions[(account, key)] = session
            self._sessions.move_to_end((account, key))
            if len(self._sessions) > self.cache_size:
                self._sessions.popitem(last=False)

    def _cached(self, account: str, key: str) -> Snapshot | None:
        snap = self._accounts.get(account)
        if snap is None:
            return None
        return snap.evolve(session=self._sessions.get((account, key)))

    def _forget(self, account: str, key: str) -> None:
        self._accounts.pop(account, None)
        self._sessions.pop((account, key), None)

    # --- apply ----------------------------------------------------------------------------------
    async def apply_record(self, record: AccountingRecord, rate_fn: RateFn, *, period: str | None = None,
                           period_start: int | None = None) -> ApplyResult:
        """Rate and apply one accounting record (Start, Interim or Stop) exactly once.

        ``rate_fn`` must be pure: it may run several times when other processes apply to the same
        account concurrently. ``period``: the period the caller expects the account to be in;
        if the account is behind, ``PeriodBehind`` is raised (run ``rollover``, then retry).
        ``period_start``: when that period began; a record whose usage runs from before it (the
        session's previous record) while the account is still behind has the part before it,
        pro rata by time, applied to the old period first, as an interim at ``period_start``.
        """
        async with self._serial(record.account):
            result = await self._apply_loop(record, rate_fn, period, period_start)
        # outside the account's lock: the next record of the account need not wait for this hand-off
        return await self._after_apply(record, result)

    @contextlib.asynccontextmanager
    async def _serial(self, account: str) -> AsyncIterator[None]:
        """Records of one account are applied one at a time within this process: concurrent ones
        would only conflict with each other. Other processes are kept apart by the guards."""
        entry = self._locks.get(account)
        if entry is None:
            entry = self._locks[account] = _Gate()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if not entry.users:
                del self._locks[account]

    async def _apply_loop(self, record: AccountingRecord, rate_fn: RateFn, period: str | None,
                          period_start: int | None = None) -> ApplyResult:
        key = record.session_key
        for attempt in range(1, self.retries + 1):
            snap = self._cached(record.account, key) if attempt == 1 else None
            if snap is None or (period is not None and snap.period < period):
                snap = await self.read(record.account, key)  # a cached period may be out of date
            if period is not None and snap.period < period:
                before = _part_before(record, snap, period_start)
                if before is not None:
                    await self._apply_loop(before, rate_fn, None)
                raise PeriodBehind(record.account, snap.period, period)
            if snap.closed:
                return ApplyResult(version=snap.version, delta={}, closed=True, attempts=attempt)
            last = snap.session.last if snap.session else {}
            upd = snap.session.updated if snap.session else 0
            delta, _ = session_delta(last, record.counters, record.now, upd)
            rated = rate_fn(RatingInput(record=record, snapshot=snap, delta=delta))
            result = await self.apply(record, snap, rated, delta, attempt)
            if result is not None:
                return result
            if attempt > 1:  # another process is busy on this account: back off, randomly
                await asyncio.sleep(random.uniform(0, 0.001 * 2 ** min(attempt, 6)))
        raise ConflictError(f"{record.account}: {self.retries} conflicting attempts for {key}")

    async def apply(self, record: AccountingRecord, snap: Snapshot, rated: Rated, delta: Mapping[str, int],
                    attempt: int = 1) -> ApplyResult | None:
        """One guarded jet_acct_apply call; None on CONFLICT (re-read and re-rate)."""
        call = build_apply(record, snap, rated, self.tombstone_seconds)
        try:
            reply = await self._fcall("jet_acct_apply", call.keys, call.args)
            result = parse_apply(record, reply, delta, attempt)
        except BaseException:
            self._forget(record.account, record.session_key)
            raise
        if result is None or result.closed:
            self._forget(record.account, record.session_key)
        else:
            account, session = advance(snap, record, call, result, reply)
            self._remember(record.account, record.session_key, account, session)
        return result

    async def _after_apply(self, record: AccountingRecord, result: ApplyResult) -> ApplyResult:
        """Index upkeep and the stream hand-off. The apply is already durable: failures here never
        raise (the result carries ``handed_off``; ``redeliver`` and the reaper repair the rest)."""
        member = f"{record.account}{SEP}{record.session_key}"
        reap = reaper_index(shard_of(record.account, self.shards))
        try:
            if result.opened and result.completed is None:
                await asyncio.gather(self._put("SADD", nas_index(record.nas), member),
                                     self._put("ZADD", reap, record.seen_at, member))
            if result.completed is not None:
                # The NAS and reaper index entries are left for stale_sessions to drop (it sees the
                # session is gone): two commands fewer per Stop.
                return replace(result, handed_off=await self._hand_off(result.completed))
        except QuotaError as exc:
            log.warning("quota: index upkeep after %s failed: %s", record.session_key, exc)
        return result

    # --- stream hand-off ------------------------------------------------------------------------
    async def _hand_off(self, session: CompletedSession) -> bool:
        k = AccountKeys(session.account)
        try:
            await self._put("XADD", session_stream(shard_of(session.account, self.shards)), "*",
                            *[x for kv in stream_fields(session).items() for x in kv])
            await self._fcall("jet_handoff_ack", [k.done_session(session.key), k.done_charges(session.key),
                                                  k.done], [session.key])
        except QuotaError as exc:
            log.warning("quota: hand-off of %s/%s pending: %s", session.account, session.key, exc)
            return False
        return True

    async def pending_handoffs(self, account: str) -> list[str]:
        """Stopped sessions of the account not yet acknowledged on the stream."""
        return sorted(text(m) for m in await self._cmd("SMEMBERS", AccountKeys(account).done))

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
            sent += await self._hand_off(completed_from_hash(account, key, flat_map(fields), charges or None))
        return sent


def _part_before(record: AccountingRecord, snap: Snapshot, start: int | None) -> AccountingRecord | None:
    """The share of ``record``'s usage from before ``start`` (pro rata by time since the session's
    previous record), as an interim at ``start``; None when its usage does not span ``start``."""
    session = snap.session
    if start is None or session is None or record.kind is Kind.START or not session.updated:
        return None
    since, until = session.updated, record.now
    if not since < start < until:
        return None
    delta, _ = session_delta(session.last, record.counters, record.now, session.updated)
    counters = {name: session.last.get(name, 0) + d * (start - since) // (until - since)
                for name, d in delta.items()}
    return replace(record, kind=Kind.INTERIM, now=start, counters=counters, cause="")
