"""Deliver outbox events to hooks: at-least-once, in order per account, retried with backoff.

One loop, every ``poll_interval`` (or at once when woken):

1. for each target (a configured hook or a built-in behaviour), in one transaction: read
   the outbox after the target's cursor, add a ``pending`` delivery for each event it
   matches, move the cursor. A crash before commit re-reads the same events; after it,
   the deliveries are in the table. Nothing is skipped, nothing enqueued twice.
2. for each target, read its pending deliveries in id order and group them by account.
   An account's deliveries run one after another; the first that fails stops the rest of
   that account's queue until its retry is due, so events of one account arrive in order.
   Accounts run side by side, at most ``concurrency`` at once per target.

On PostgreSQL several jetd hosts may share the database: only the one holding a session
advisory lock (``HOOKS_LOCK``, on a connection of its own) dispatches; the others stand by
and take over when it goes away. SQLite has one jetd anyway.

A delivery is marked ``done`` only after its action returned, so one interrupted by a
stop or a crash is delivered again (at-least-once; docs/hooks.md says how each action
makes a repeat harmless). After ``max_attempts`` it is ``failed``: visible in
``jetctl hooks failed``, back in the queue with ``jetctl hooks retry ID``. A failed
delivery does not hold back the account's later events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from jetd.hooks import actions
from jetd.hooks.actions import Context, Permanent, Transient
from jetd.hooks.settings import HookSettings, HooksSettings
from provisioning import events as ev
from provisioning import store
from provisioning.models import Event

log = logging.getLogger("jetd.hooks")

DELIVERIES = Counter("jet_hook_deliveries_total",
                     "Hook delivery attempts by result: ok, retry (will be tried again), failed (parked).",
                     ["result"])
for _result in ("ok", "retry", "failed"):
    DELIVERIES.labels(result=_result)
PENDING = Gauge("jet_hook_deliveries_pending", "Deliveries waiting (new or for a retry), per hook; "
                "counted up to 500.", ["hook"], multiprocess_mode="max")

Run = Callable[[Event, Context], Awaitable[str]]

# Any constant will do: it names the advisory lock the one dispatching jetd holds.
HOOKS_LOCK = 0x4A45_5448


@dataclass(frozen=True)
class Target:
    """Something events are delivered to: a ``[[hooks.hook]]`` or a built-in behaviour."""

    name: str
    accepts: Callable[[str, str | None, str | None], bool]  # (type, realm, plan) -> bool
    run: Run
    max_attempts: int | None = None
    timeout: float = 60.0
    needs_plan: bool = False
    # One delivery at a time: actions that rewrite one whole file from the store's state.
    serial: bool = False


def hook_target(hook: HookSettings) -> Target:
    async def run(event: Event, ctx: Context) -> str:
        return await actions.run_action(hook, event, ctx)

    return Target(hook.name, hook.matches, run, hook.max_attempts, hook.timeout, bool(hook.plans),
                  serial=hook.action in ("sftp", "ftp", "radius-file"))


class Dispatcher:
    def __init__(self, engine: AsyncEngine, settings: HooksSettings, targets: Sequence[Target],
                 ctx: Context, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 batch: int = 500) -> None:
        self.engine = engine
        self.settings = settings
        self.targets = list(targets)
        self.ctx = ctx
        self.clock = clock
        self.batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._lock_conn: AsyncConnection | None = None
        self.leader = False
        self._pruned_at: datetime | None = None

    def configure(self, settings: HooksSettings, targets: Sequence[Target]) -> None:
        """A reload: new targets apply from the next round (cursors and queues are kept)."""
        self.settings, self.targets = settings, list(targets)
        self.wake()

    def wake(self) -> None:
        self._wake.set()

    async def open_cursors(self, targets: Sequence[Target]) -> None:
        """Give each new target its cursor now, at the outbox's end: a hook added by a reload
        gets every event written after the reload returns, not only those after the
        dispatcher's next round."""
        now = self.clock()
        for target in targets:
            try:
                async with self.engine.begin() as conn:
                    await ev.cursor(conn, target.name, now)
            except IntegrityError:
                pass  # another jetd on the same database created it a moment ago

    # --- the loop -------------------------------------------------------------------------------

    def start(self) -> None:
        self._closing = False
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="hook-dispatcher")

    async def stop(self, grace: float = 3.0) -> None:
        """Let the round in progress finish (up to ``grace`` seconds), then cancel it: a
        delivery cut short is tried again after a restart (at-least-once)."""
        if self._task is not None:
            self._closing = True
            self.wake()
            done, _ = await asyncio.wait([self._task], timeout=grace)
            if not done:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        await self._release()

    async def _lead(self) -> bool:
        """Whether this process dispatches (always on SQLite; on PostgreSQL, the lock holder)."""
        if self.engine.dialect.name != "postgresql":
            return True
        if self._lock_conn is not None:
            try:
                await self._lock_conn.execute(text("SELECT 1"))
                return True
            except Exception:
                log.warning("lost the hook dispatcher lock's connection; trying to take it again")
                await self._release()
        conn = await self.engine.connect()
        try:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = (await conn.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                      {"key": HOOKS_LOCK})).scalar()
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            if self.leader:
                log.info("another jetd dispatches hooks; standing by")
            self.leader = False
            return False
        self._lock_conn, self.leader = conn, True
        log.info("this jetd dispatches hooks")
        return True

    async def _release(self) -> None:
        conn, self._lock_conn, self.leader = self._lock_conn, None, False
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": HOOKS_LOCK})
            with contextlib.suppress(Exception):
                await conn.close()

    async def _loop(self) -> None:
        while not self._closing:
            try:
                if await self._lead():
                    await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("hook dispatcher round failed; trying again")
            if self._closing:
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval)

    async def run_once(self) -> int:
        """Enqueue new events for every target, then run what is due; return attempts made."""
        targets = list(self.targets)
        for target in targets:
            await self.enqueue(target)
        counts = await asyncio.gather(*(self.deliver(t) for t in targets))
        await self._prune()
        return sum(counts)

    async def _prune(self) -> None:
        """At most hourly: delete done deliveries older than ``keep_done_days``."""
        now = self.clock()
        if self._pruned_at is not None and now - self._pruned_at < timedelta(hours=1):
            return
        self._pruned_at = now
        async with self.engine.begin() as conn:
            gone = await ev.prune(conn, now - timedelta(days=self.settings.keep_done_days))
        if gone:
            log.info("forgot %d done hook deliveries older than %s days", gone, self.settings.keep_done_days)

    # --- 1. outbox -> deliveries --------------------------------------------------------------

    async def enqueue(self, target: Target) -> int:
        added = 0
        while True:
            now = self.clock()
            async with self.engine.begin() as conn:
                last = await ev.cursor(conn, target.name, now)
                events = await store.events_after(conn, last, self.batch)
                if not events:
                    return added
                chosen = []
                for e in events:
                    plan = await self._plan(conn, e) if target.needs_plan else _plan_in(e)
                    if target.accepts(e.type, e.realm, plan):
                        chosen.append(e)
                await ev.enqueue(conn, target.name, chosen, events[-1].id, now)
            added += len(chosen)
            if len(events) < self.batch:
                return added

    async def _plan(self, conn: Any, event: Event) -> str | None:
        plan = _plan_in(event)
        if plan is not None or event.account_id is None:
            return plan
        day: date = event.created_at.date()
        current = [p for (_, start, _end, p) in await store.plan_rows(conn, day, [event.account_id])
                   if start <= day]
        return current[-1] if current else None

    # --- 2. deliveries -> actions -------------------------------------------------------------

    async def deliver(self, target: Target) -> int:
        async with self.engine.connect() as conn:
            queue = await ev.pending(conn, target.name, self.batch)
        PENDING.labels(hook=target.name).set(len(queue))
        if not queue:
            return 0
        lanes: dict[Any, list[ev.Delivery]] = {}
        for d in queue:
            key = d.account_id if d.account_id is not None else ("realm", d.realm)
            lanes.setdefault(key, []).append(d)
        now = self.clock()
        due = [lane for lane in lanes.values() if lane[0].next_attempt_at <= now]
        if not due:
            return 0
        async with self.engine.connect() as conn:
            found = await ev.events_by_ids(conn, [d.event_id for lane in due for d in lane])
        gate = asyncio.Semaphore(1 if target.serial else self.settings.concurrency)
        attempts = 0

        async def run_lane(lane: list[ev.Delivery]) -> None:
            nonlocal attempts
            async with gate:
                for d in lane:
                    if d.next_attempt_at > self.clock():
                        return
                    attempts += 1
                    if not await self._attempt(target, d, found.get(d.event_id)):
                        return

        await asyncio.gather(*(run_lane(lane) for lane in due))
        return attempts

    async def _attempt(self, target: Target, d: ev.Delivery, event: Event | None) -> bool:
        """One try; record the outcome. True when done (the lane may go on)."""
        tries = d.attempts + 1
        limit = target.max_attempts or self.settings.max_attempts
        try:
            if event is None:
                raise Permanent(f"event {d.event_id} is no longer in the outbox")
            # The actions bound their own I/O; this is a backstop against a hung target.
            result = await asyncio.wait_for(target.run(event, self.ctx), target.timeout * 2 + 5)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = _describe(exc)
            permanent = isinstance(exc, Permanent) or tries >= limit
            now = self.clock()
            async with self.engine.begin() as conn:
                if permanent:
                    await ev.finish(conn, d.id, ev.FAILED, now, attempts=tries, error=error)
                else:
                    await ev.finish(conn, d.id, ev.PENDING, now, attempts=tries, error=error,
                                    next_attempt_at=now + self._backoff(tries))
            DELIVERIES.labels(result="failed" if permanent else "retry").inc()
            log.warning("hook %s: event %s (%s) %s after attempt %d: %s", target.name, d.event_id,
                        d.event_type, "failed" if permanent else "will be retried", tries, error,
                        extra={"hook": target.name, "event_id": d.event_id, "attempt": tries})
            # A parked delivery does not hold the account's later events back.
            return permanent
        async with self.engine.begin() as conn:
            await ev.finish(conn, d.id, ev.DONE, self.clock(), attempts=tries, result=result[:500])
        DELIVERIES.labels(result="ok").inc()
        log.info("hook %s: event %s (%s) delivered: %s", target.name, d.event_id, d.event_type, result,
                 extra={"hook": target.name, "event_id": d.event_id})
        return True

    def _backoff(self, attempt: int) -> timedelta:
        s = self.settings
        delay = min(s.backoff_initial * 2 ** (attempt - 1), s.backoff_max)
        return timedelta(seconds=delay * random.uniform(0.8, 1.2))


def _plan_in(event: Event) -> str | None:
    p = event.payload
    plan = p.get("plan")
    if plan is None and isinstance(p.get("account"), dict):
        plan = p["account"].get("plan")
    return plan if isinstance(plan, str) else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, Transient | Permanent):
        return str(exc)[:1000]
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"[:1000]
