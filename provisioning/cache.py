"""The in-memory account cache for the RADIUS hot path.

Loaded whole at start, then kept current by following the outbox table: every
``poll_interval`` seconds it reads events with an id above the last one seen and
reloads the accounts they name. The outbox is in the database, so this works across
several jetd processes and after restarts; nothing is pushed between processes.

    cache = AccountCache(service, poll_interval=1.0)
    await cache.start()                       # load, then follow in a task
    record = cache.get("default", "alice")    # AuthAccount | None, no I/O
    plan = record.plan_on(today)
    await cache.stop()

Records are frozen, slotted and hold only what authentication needs; a change
replaces a record, it never mutates one, so a reader always sees a whole record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from provisioning.auth import AuthAccount, AuthRealm, auth_realm
from provisioning.models import Realm

if TYPE_CHECKING:
    from provisioning.service import Service

log = logging.getLogger("jet.provisioning.cache")

__all__ = ["AccountCache", "AuthAccount", "AuthRealm"]


class AccountCache:
    def __init__(self, service: Service, *, poll_interval: float = 1.0, batch: int = 1000) -> None:
        self.service = service
        self.poll_interval = poll_interval
        self.batch = batch
        self.last_event_id = 0
        self._accounts: dict[str, dict[str, AuthAccount]] = {}
        self._realms: dict[str, AuthRealm] = {}
        self._domains: dict[str, AuthRealm] = {}
        self._task: asyncio.Task[None] | None = None
        self.loaded = asyncio.Event()

    # --- the hot path (no I/O, no awaits) -------------------------------------------------

    def get(self, realm: str, username: str) -> AuthAccount | None:
        accounts = self._accounts.get(realm)
        return None if accounts is None else accounts.get(username)

    def realm(self, name: str) -> AuthRealm | None:
        return self._realms.get(name)

    def realm_for_domain(self, domain: str) -> AuthRealm | None:
        """The realm that answers for ``user@domain``: by domain, else by realm name."""
        domain = domain.lower()
        return self._domains.get(domain) or self._realms.get(domain)

    def __len__(self) -> int:
        return sum(len(a) for a in self._accounts.values())

    # --- loading and following ------------------------------------------------------------

    async def load(self) -> None:
        """Replace everything with a fresh snapshot (at start)."""
        last, records = await self.service.auth_snapshot()
        realms = await self.service.all_realms()
        table: dict[str, dict[str, AuthAccount]] = {r.name: {} for r in realms}
        for record in records:
            table.setdefault(record.realm, {})[record.username] = record
        self._set_realms(realms)
        self._accounts = table
        self.last_event_id = last
        self.loaded.set()

    def _set_realms(self, realms: list[Realm]) -> None:
        records = {r.name: auth_realm(r) for r in realms}
        self._domains = {d: rec for rec in records.values() for d in rec.domains}
        self._realms = records

    async def refresh(self) -> int:
        """Apply every event after the last one seen; return how many were read."""
        seen = 0
        while True:
            events = await self.service.events_after(self.last_event_id, self.batch)
            if not events:
                return seen
            # Only account events change what authentication needs (usage, session, invoice and
            # payment events name an account too, and are many).
            ids = sorted({e.account_id for e in events
                          if e.account_id is not None and e.type.startswith("account.")})
            if any(e.type.startswith("realm.") for e in events):
                self._set_realms(await self.service.all_realms())
                for name in self._realms:
                    self._accounts.setdefault(name, {})
            if ids:
                _, records = await self.service.auth_snapshot(ids)
                for record in records:
                    self._accounts.setdefault(record.realm, {})[record.username] = record
            self.last_event_id = events[-1].id
            seen += len(events)
            if len(events) < self.batch:
                return seen

    async def start(self) -> None:
        await self.load()
        self._task = asyncio.get_running_loop().create_task(self._follow(), name="account-cache")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _follow(self) -> None:
        delay = self.poll_interval
        while True:
            await asyncio.sleep(delay)
            try:
                await self.refresh()
                delay = self.poll_interval
            except Exception:  # the database is away: keep serving what we have, retry slower
                log.warning("account cache cannot read the outbox; retrying", exc_info=True)
                delay = min(max(delay * 2, self.poll_interval), 30.0)
