"""The quota store inside jetd: Redis functions loaded at start, and the local spool.

jetd starts even when Redis is down: accounting then goes to the spool (fsync'd before
the NAS is answered) and is replayed, in order, once Redis answers again.

After start: ``app.services["quota"]`` (quota.store.QuotaStore) and
``app.services["spool"]`` (quota.spool.Spool).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge

from quota import resp
from quota.connect import connect
from quota.errors import LibraryVersionError, QuotaError, QuotaUnavailable
from quota.model import AccountingRecord
from quota.resp import RespPipe
from quota.spool import Spool
from quota.store import QuotaStore

if TYPE_CHECKING:
    from jetd.app import App

log = logging.getLogger("jetd.quota")

REDIS_UP = Gauge("jet_quota_redis_up", "1 when the quota store answers.", multiprocess_mode="min")
SPOOLED = Counter("jet_quota_spooled_records_total", "Accounting records written to the local spool.")
REPLAYED = Counter("jet_quota_replayed_records_total", "Spooled records replayed into Redis.")
REAPED = Counter("jet_quota_reaped_sessions_total", "Sessions closed by the reaper after missed interims.")

Replayer = Callable[[AccountingRecord], Awaitable[Any]]


class QuotaSite:
    name = "quota"

    def __init__(self, app: App, *, retry_seconds: float = 1.0) -> None:
        self.app = app
        self.retry_seconds = retry_seconds
        self.store: QuotaStore | None = None
        self.spool: Spool | None = None
        self.loaded = False
        self._task: asyncio.Task[None] | None = None
        # Set by the accounting service: how a spooled record is applied, how stale
        # sessions are closed.
        self.replayer: Replayer | None = None
        self.reaper: Callable[[int], Awaitable[int]] | None = None
        self._reap_task: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        return ""

    async def start(self) -> None:
        s = self.app.settings
        fast = RespPipe(s.redis.url) if resp.usable(s.redis.url) else None
        self.store = QuotaStore(connect(s.redis.url), batch=True, shards=s.quota.stream_shards, fast=fast)
        worker = self.app.worker if self.app.worker is not None else 0
        self.spool = Spool(s.quota.spool_dir / f"acct-{worker}.spool")
        try:
            await self.ensure_loaded()
        except QuotaUnavailable as exc:
            log.warning("Redis is unreachable (%s): accounting goes to the spool until it is back", exc)
        self.app.services["quota"] = self.store
        self.app.services["spool"] = self.spool
        self.app.services["quota_site"] = self
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._keep_up(), name="quota-keepalive")
        if self.app.worker is None and s.radius.reap_after_intervals and s.radius.interim_interval:
            self._reap_task = loop.create_task(self._reap(), name="session-reaper")

    async def ensure_loaded(self) -> None:
        """Load the function library (refusing a newer one) if not done yet."""
        assert self.store is not None
        if self.loaded:
            return
        try:
            version = await self.store.load_functions()
        except LibraryVersionError:
            REDIS_UP.set(0)
            raise
        except QuotaUnavailable:
            REDIS_UP.set(0)
            raise
        self.loaded = True
        REDIS_UP.set(1)
        log.info("quota functions loaded (library version %s)", version)

    async def spool_record(self, record: AccountingRecord) -> None:
        assert self.spool is not None
        await self.spool.append_async(record)
        SPOOLED.inc()
        REDIS_UP.set(0)
        self.loaded = False  # reload the library when Redis is back (it may have restarted empty)

    async def _keep_up(self) -> None:
        """Reload the library after an outage and replay the spool, in order."""
        assert self.spool is not None
        while True:
            await asyncio.sleep(self.retry_seconds)
            try:
                await self.ensure_loaded()
                if self.spool.empty or self.replayer is None:
                    continue
                report = await self.spool.replay(self._replay_one)
                if report.replayed:
                    log.info("replayed %d spooled accounting records", report.replayed)
            except QuotaUnavailable:
                self.loaded = False
                continue
            except (QuotaError, OSError):
                log.exception("spool replay failed; retrying")

    async def _reap(self) -> None:
        """Close sessions that missed radius.reap_after_intervals interims (main process only)."""
        interval = self.app.settings.radius.interim_interval
        while True:
            await asyncio.sleep(min(max(interval / 2, 1.0), 60.0))
            if self.reaper is None:
                continue
            try:
                closed = await self.reaper(int(time.time()))
            except QuotaUnavailable:
                continue
            except QuotaError:
                log.exception("session reaper failed; retrying")
                continue
            if closed:
                log.info("reaper closed %d stale sessions", closed)
                REAPED.inc(closed)

    async def _replay_one(self, record: AccountingRecord) -> None:
        assert self.replayer is not None
        await self.replayer(record)
        REPLAYED.inc()

    async def stop(self) -> None:
        for task in (self._task, self._reap_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.store is not None:
            with contextlib.suppress(Exception):
                await self.store.client.aclose()
            if self.store.fast is not None:
                await self.store.fast.aclose()
        if self.spool is not None:
            self.spool.close()
        for key in ("quota", "spool", "quota_site"):
            self.app.services.pop(key, None)
