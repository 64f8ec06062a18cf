"""Intake: completed, rated sessions from the ``jet:sessions:{K}`` streams into SQL.

One consumer group (default ``jet-invoicer``) over every shard's stream; several
invoicers are several consumers of it. Per batch: decode, store each session
idempotently (unique by account + session key) in one transaction, then XACK — so a
crash before the commit leaves the messages pending and they are delivered again;
after the commit they are acknowledged, and a redelivery stores nothing twice.

Pending messages of a consumer that died are taken over with XAUTOCLAIM once they have
been idle ``claim_idle`` seconds. A message that cannot be processed (undecodable, an
unknown schema, an account this database does not have) is copied to the dead-letter
stream ``jet:sessions:dead`` with the reason, counted, and acknowledged: never dropped
silently. A database that is down is not the message's fault: nothing is acknowledged
and the batch is tried again. With each reclaim round the streams are trimmed below what
every consumer group has acknowledged (``trim_once``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError, ResponseError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from invoicing import metrics
from invoicing import store as istore
from provisioning.tables import accounts
from quota.handoff import decode_completed
from quota.keys import session_stream
from quota.model import CompletedSession

log = logging.getLogger("jet.invoicer.intake")

DEAD_LETTER_STREAM = "jet:sessions:dead"


def default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class IntakeOptions:
    group: str = "jet-invoicer"
    consumer: str = ""
    shards: int = 16
    batch: int = 200
    claim_idle: float = 60.0  # seconds a pending message sits before another consumer takes it
    poll: float = 0.5  # seconds between rounds when every stream is empty


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Intake:
    def __init__(self, redis: Redis | RedisCluster, engine: AsyncEngine, options: IntakeOptions,
                 clock: Callable[[], datetime]) -> None:  # fmt: skip
        self.redis = redis
        self.engine = engine
        self.options = options
        self.consumer = options.consumer or default_consumer()
        self.clock = clock
        self.streams = [session_stream(k) for k in range(options.shards)]
        self._known: set[int] = set()

    async def ensure_groups(self) -> None:
        for stream in self.streams:
            try:
                await self.redis.xgroup_create(stream, self.options.group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; Redis or database trouble is logged and retried."""
        await self._retry(self.ensure_groups, stop)
        next_claim = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                handled = 0
                if loop.time() >= next_claim:
                    handled += await self.claim_once()
                    await self.trim_once()
                    next_claim = loop.time() + max(1.0, self.options.claim_idle / 2)
                handled += await self.read_once()
            except (RedisError, SQLAlchemyError, OSError) as exc:
                log.warning("intake: %s; retrying", exc)
                handled = 0
                await _wait(stop, 2.0)
                continue
            if not handled:
                await _wait(stop, self.options.poll)

    async def _retry(self, fn: Callable[[], Any], stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await fn()
                return
            except (RedisError, OSError) as exc:
                log.warning("intake: %s; retrying", exc)
                await _wait(stop, 2.0)

    async def read_once(self) -> int:
        """One XREADGROUP per stream (streams may live on different cluster nodes)."""
        handled = 0
        for stream in self.streams:
            reply: Any = await self.redis.xreadgroup(self.options.group, self.consumer, {stream: ">"},
                                                count=self.options.batch)
            for _name, messages in reply or ():
                handled += await self.handle(stream, messages)
        return handled

    async def claim_once(self) -> int:
        """Take over messages idle longer than ``claim_idle`` (their consumer died)."""
        handled = 0
        idle_ms = int(self.options.claim_idle * 1000)
        for stream in self.streams:
            start = "0-0"
            while True:
                reply: Any = await self.redis.xautoclaim(stream, self.options.group, self.consumer, idle_ms,
                                                    start_id=start, count=self.options.batch)
                start, messages = _text(reply[0]), [m for m in reply[1] if m[1] is not None]
                if messages:
                    metrics.STREAM_CLAIMED.inc(len(messages))
                    log.info("intake: claimed %d idle messages on %s", len(messages), stream)
                    handled += await self.handle(stream, messages)
                if start == "0-0":
                    break
        return handled

    async def trim_once(self) -> int:
        """Drop entries every consumer group has read and acknowledged (``XTRIM MINID``): below
        each group's oldest pending entry, or its last-delivered id when nothing is pending.
        Other groups on the same stream are respected. Returns the entries removed."""
        removed = 0
        for stream in self.streams:
            groups: Any = await self.redis.xinfo_groups(stream)
            if not groups:
                continue
            floor: tuple[int, int] | None = None
            for g in groups:
                name, last, pending = g["name"], _text(g["last-delivered-id"]), int(g["pending"])
                if pending:
                    summary: Any = await self.redis.xpending(stream, name)
                    last = _text(summary["min"])
                point = _id(last)
                floor = point if floor is None or point < floor else floor
            if floor is not None and floor > (0, 0):
                minid = f"{floor[0]}-{floor[1]}"
                removed += int(await self.redis.xtrim(stream, minid=minid, approximate=False))
        return removed

    async def handle(self, stream: str, messages: list[tuple[Any, dict[Any, Any]]]) -> int:
        good: list[tuple[str, CompletedSession]] = []
        dead: list[tuple[str, dict[Any, Any], str]] = []
        for raw_id, fields in messages:
            msg_id = _text(raw_id)
            try:
                session = decode_completed(fields[b"d"] if b"d" in fields else fields["d"])
                int(session.account)
            except Exception as exc:  # any undecodable message goes to the dead letters
                dead.append((msg_id, fields, f"cannot decode: {type(exc).__name__}: {exc}"))
                continue
            good.append((msg_id, session))
        if good:
            missing = await self._unknown_accounts({int(s.account) for _, s in good})
            for msg_id, s in good:
                if int(s.account) in missing:
                    dead.append((msg_id, {b"acct": s.account, b"sid": s.key},
                                 f"no account {s.account} in this database"))
            good = [(m, s) for m, s in good if int(s.account) not in missing]
        stored = duplicates = 0
        if good:
            now = self.clock()
            try:
                async with self.engine.begin() as conn:
                    for msg_id, s in good:
                        if await istore.store_session(conn, s, f"{stream}/{msg_id}", now):
                            stored += 1
                        else:
                            duplicates += 1
            except (ValueError, KeyError, TypeError):
                # one bad record spoils the batch: store them one by one to find it
                stored, duplicates = await self._one_by_one(stream, good, dead)
        for msg_id, fields, reason in dead:
            await self.dead_letter(stream, msg_id, fields, reason)
        ids = [m for m, _ in good] + [m for m, _, _ in dead]
        if ids:
            await self.redis.xack(stream, self.options.group, *ids)
        metrics.STREAM_MESSAGES.labels("stored").inc(stored)
        metrics.STREAM_MESSAGES.labels("duplicate").inc(duplicates)
        return len(messages)

    async def _one_by_one(self, stream: str, good: list[tuple[str, CompletedSession]],
                          dead: list[tuple[str, dict[Any, Any], str]]) -> tuple[int, int]:  # fmt: skip
        stored = duplicates = 0
        for msg_id, s in list(good):
            try:
                async with self.engine.begin() as conn:
                    if await istore.store_session(conn, s, f"{stream}/{msg_id}", self.clock()):
                        stored += 1
                    else:
                        duplicates += 1
            except (ValueError, KeyError, TypeError) as exc:
                good.remove((msg_id, s))
                dead.append((msg_id, {b"acct": s.account, b"sid": s.key}, f"bad record: {exc}"))
        return stored, duplicates

    async def _unknown_accounts(self, ids: set[int]) -> set[int]:
        wanted = ids - self._known
        if not wanted:
            return set()
        async with self.engine.connect() as conn:
            q = select(accounts.c.id).where(accounts.c.id.in_(wanted))
            found = set((await conn.execute(q)).scalars())
        self._known |= found
        return wanted - found

    async def dead_letter(self, stream: str, msg_id: str, fields: dict[Any, Any], reason: str) -> None:
        entry: dict[Any, Any] = {"stream": stream, "id": msg_id, "reason": reason[:500],
                                 "consumer": self.consumer}  # fmt: skip
        for k, v in fields.items():
            entry[f"f:{_text(k)}"] = v
        await self.redis.xadd(DEAD_LETTER_STREAM, entry)
        metrics.STREAM_DEAD_LETTERS.inc()
        metrics.STREAM_MESSAGES.labels("dead").inc()
        log.error("intake: %s %s moved to %s: %s", stream, msg_id, DEAD_LETTER_STREAM, reason)


def _id(text: str) -> tuple[int, int]:
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass
