"""What every part of the service shares: the engine, the clock, the injected rules,
and the helpers that write audit rows and outbox events in the caller's transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from provisioning import store
from provisioning.credentials import SCRYPT_N, Credentials, hash_password, nt_hash
from provisioning.errors import Conflict, NotFound
from provisioning.events import event_row
from provisioning.models import Account, Actor

Clock = Callable[[], datetime]
PlanExists = Callable[[str, str], bool]
# (account, period start, period end exclusive) -> usage figures; the quota issue plugs in here.
UsageSource = Callable[[Account, date, date], Awaitable[dict[str, Any]]]
# (account, balances computed from the ledger) -> balances as the quota engine sees them.
BalanceSource = Callable[[Account, dict[str, Any]], Awaitable[dict[str, Any]]]


def utc_now() -> datetime:
    return datetime.now(UTC)


class ServiceBase:
    def __init__(self, engine: AsyncEngine, *, clock: Clock = utc_now, plan_exists: PlanExists | None = None,
                 usage_source: UsageSource | None = None, balance_source: BalanceSource | None = None,
                 scrypt_n: int = SCRYPT_N) -> None:
        self.engine = engine
        self.clock = clock
        self.plan_exists: PlanExists = plan_exists or (lambda realm, plan: True)
        self.usage_source = usage_source
        self.balance_source = balance_source
        self.scrypt_n = scrypt_n

    def now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return an aware datetime")
        return now.astimezone(UTC)

    def today(self) -> date:
        return self.now().date()

    def _tx(self) -> Any:
        return self.engine.begin()

    async def _credentials(self, password: str, *, allow_chap: bool, allow_mschap: bool) -> Credentials:
        """Hash off the event loop: scrypt costs tens of milliseconds by design."""
        return await asyncio.to_thread(self._credentials_sync, password, allow_chap, allow_mschap)

    def _credentials_sync(self, password: str, allow_chap: bool, allow_mschap: bool) -> Credentials:
        return Credentials(hash_password(password, n=self.scrypt_n),
                           nt_hash(password) if allow_mschap else None,
                           password if allow_chap else None)

    @staticmethod
    def _audit_row(actor: Actor, now: datetime, action: str, object_type: str, object_id: Any,
                   realm: str | None, before: Any = None, after: Any = None) -> dict[str, Any]:
        return {"at": now, "actor": actor.name, "action": action, "object_type": object_type,
                "object_id": str(object_id), "realm": realm, "before": before, "after": after}

    @staticmethod
    def _event_row(kind: str, now: datetime, account_id: int | None, realm: str | None, /,
                   **payload: Any) -> dict[str, Any]:
        return event_row(kind, account_id, realm, payload, now=now)

    async def _record(self, conn: AsyncConnection, audits: list[dict[str, Any]],
                      events: list[dict[str, Any]]) -> None:
        await store.add_audit(conn, audits)
        await store.add_events(conn, events)

    async def _visible_account(self, conn: AsyncConnection, actor: Actor, account_id: int) -> Account:
        account = await store.get_account(conn, account_id)
        if account is None or not actor.sees(account.realm):
            raise NotFound(f"no account {account_id}")
        return account


def conflict_from(exc: IntegrityError, message: str) -> Conflict:
    return Conflict(message)
