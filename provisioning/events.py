"""Events beyond the service's own, and per-hook delivery state over the outbox.

``record_event`` writes one outbox row (with the same ordering lock the service uses),
for events raised outside a service transaction: ``usage.threshold`` and
``usage.exhausted`` from RADIUS accounting, ``invoice.*`` from the invoicer.

    await record_event(service.engine, "usage.threshold", 42, "default",
                       {"bundle": "data", "threshold": "80", "account": {...}}, now=now)

Delivery state (tables ``hook_cursors`` and ``hook_deliveries``, migration 0002_hooks):
a hook's cursor is the last outbox id it has looked at; each matching event becomes one
delivery row ``pending`` → ``done``, or ``failed`` after its last attempt (an operator
may set it back to ``pending`` with ``retry``). The cursor and the new rows are written
in one transaction, so nothing is skipped or enqueued twice across restarts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from provisioning import store
from provisioning.models import EVENT_VERSION, Event
from provisioning.tables import UtcDateTime

# Every event type and the version of its payload (docs/hooks.md describes each).
EVENT_TYPES: dict[str, int] = {
    "account.created": EVENT_VERSION, "account.updated": EVENT_VERSION,
    "account.suspended": EVENT_VERSION, "account.resumed": EVENT_VERSION,
    "account.deleted": EVENT_VERSION, "account.password_changed": EVENT_VERSION,
    "account.plan_changed": EVENT_VERSION, "payment.received": EVENT_VERSION,
    "topup.received": EVENT_VERSION,
    "usage.threshold": 1, "usage.exhausted": 1, "balance.low": 1, "balance.exhausted": 1,
    "session.started": 1, "session.stopped": 1,
    "invoice.created": 1, "invoice.overdue": 1, "realm.created": EVENT_VERSION,
    "realm.updated": EVENT_VERSION,
}  # fmt: skip

PENDING, DONE, FAILED = "pending", "done", "failed"

metadata = MetaData()
Id = BigInteger().with_variant(Integer(), "sqlite")

hook_cursors = Table(
    "hook_cursors", metadata,
    Column("hook", String(128), primary_key=True),
    Column("last_event_id", Id, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

hook_deliveries = Table(
    "hook_deliveries", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("hook", String(128), nullable=False),
    Column("event_id", Id, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("account_id", Id),
    Column("realm", String(64)),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", Text),
    Column("result", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("hook", "event_id", name="uq_hook_deliveries_hook_event"),
    Index("ix_hook_deliveries_status_hook", "status", "hook", "id"),
)


@dataclass(frozen=True)
class Delivery:
    id: int
    hook: str
    event_id: int
    event_type: str
    account_id: int | None
    realm: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    result: str | None
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for k in ("next_attempt_at", "created_at", "updated_at"):
            out[k] = out[k].isoformat()
        return out


def event_row(kind: str, account_id: int | None, realm: str | None, payload: dict[str, Any], *,
              now: datetime) -> dict[str, Any]:
    """One outbox row, for ``store.add_events`` in the caller's transaction."""
    return {"type": kind, "account_id": account_id, "realm": realm, "created_at": now,
            "payload": {"version": EVENT_TYPES.get(kind, 1), "type": kind, "occurred_at": now, **payload}}


async def record_event(engine: AsyncEngine, kind: str, account_id: int | None, realm: str | None,
                       payload: dict[str, Any], *, now: datetime) -> None:
    """Write one event to the outbox in its own transaction (durable when this returns)."""
    async with engine.begin() as conn:
        await store.add_events(conn, [event_row(kind, account_id, realm, payload, now=now)])


async def events_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, Event]:
    from provisioning.tables import outbox

    out: dict[int, Event] = {}
    for i in range(0, len(ids), 500):
        q = select(outbox).where(store.one_of(conn, outbox.c.id, list(ids[i:i + 500])))
        out.update((r.id, Event(**r._mapping)) for r in await conn.execute(q))
    return out


# --- cursors ------------------------------------------------------------------------------

async def cursor(conn: AsyncConnection, hook: str, now: datetime) -> int:
    """The hook's cursor; a hook seen for the first time starts at the outbox's end."""
    value = (await conn.execute(select(hook_cursors.c.last_event_id).where(hook_cursors.c.hook == hook))
             ).scalar()
    if value is not None:
        return int(value)
    last = await store.last_event_id(conn)
    await conn.execute(hook_cursors.insert().values(hook=hook, last_event_id=last, updated_at=now))
    return last


async def enqueue(conn: AsyncConnection, hook: str, events: Sequence[Event], upto: int,
                  now: datetime) -> None:
    """Add deliveries for ``events`` and move the cursor to ``upto`` (call inside one transaction)."""
    if events:
        await conn.execute(hook_deliveries.insert(), [
            {"hook": hook, "event_id": e.id, "event_type": e.type, "account_id": e.account_id,
             "realm": e.realm, "status": PENDING, "attempts": 0, "next_attempt_at": now,
             "last_error": None, "result": None, "created_at": now, "updated_at": now}
            for e in events])
    await conn.execute(update(hook_cursors).where(hook_cursors.c.hook == hook).values(
        last_event_id=upto, updated_at=now))


# --- deliveries ---------------------------------------------------------------------------

def _delivery(row: Any) -> Delivery:
    return Delivery(**row._mapping)


async def pending(conn: AsyncConnection, hook: str, limit: int) -> list[Delivery]:
    q = select(hook_deliveries).where(hook_deliveries.c.hook == hook, hook_deliveries.c.status == PENDING)
    return [_delivery(r) for r in await conn.execute(q.order_by(hook_deliveries.c.id).limit(limit))]


async def finish(conn: AsyncConnection, delivery_id: int, status: str, now: datetime, *,
                 attempts: int, next_attempt_at: datetime | None = None, error: str | None = None,
                 result: str | None = None) -> None:
    values: dict[str, Any] = {"status": status, "attempts": attempts, "updated_at": now,
                              "last_error": error, "result": result}
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    await conn.execute(update(hook_deliveries).where(hook_deliveries.c.id == delivery_id).values(**values))


async def list_deliveries(conn: AsyncConnection, *, status: str | None, hook: str | None = None,
                          limit: int = 100) -> list[Delivery]:
    q = select(hook_deliveries).order_by(hook_deliveries.c.id.desc()).limit(limit)
    if status is not None:
        q = q.where(hook_deliveries.c.status == status)
    if hook is not None:
        q = q.where(hook_deliveries.c.hook == hook)
    return [_delivery(r) for r in await conn.execute(q)]


async def get_delivery(conn: AsyncConnection, delivery_id: int) -> Delivery | None:
    row = (await conn.execute(select(hook_deliveries).where(hook_deliveries.c.id == delivery_id))).first()
    return None if row is None else _delivery(row)


async def retry(conn: AsyncConnection, delivery_id: int, now: datetime) -> bool:
    """Put a failed delivery back in the queue, due now, with its attempts reset."""
    done = await conn.execute(update(hook_deliveries).where(
        hook_deliveries.c.id == delivery_id, hook_deliveries.c.status == FAILED).values(
        status=PENDING, attempts=0, next_attempt_at=now, updated_at=now))
    return bool(done.rowcount)


async def prune(conn: AsyncConnection, before: datetime) -> int:
    """Forget done deliveries last touched before ``before`` (failed ones stay until retried)."""
    from sqlalchemy import delete

    gone = await conn.execute(delete(hook_deliveries).where(
        hook_deliveries.c.status == DONE, hook_deliveries.c.updated_at < before))
    return int(gone.rowcount or 0)


async def counts(conn: AsyncConnection) -> dict[str, dict[str, int]]:
    """{hook: {status: n}}"""
    q = select(hook_deliveries.c.hook, hook_deliveries.c.status, func.count()).group_by(
        hook_deliveries.c.hook, hook_deliveries.c.status)
    out: dict[str, dict[str, int]] = {}
    for hook, status, n in await conn.execute(q):
        out.setdefault(hook, {})[status] = int(n)
    return out


async def cursors(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(select(hook_cursors.c.hook, hook_cursors.c.last_event_id))
    return {h: int(i) for h, i in rows}
