"""SQL for provisioning: small functions over an AsyncConnection, no rules.

The service layer opens the transaction and calls these; nothing else should.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Row,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from provisioning.credentials import Credentials
from provisioning.models import (
    Account,
    AuditEntry,
    Event,
    LedgerEntry,
    Realm,
    Subscription,
    Token,
    jsonable,
)
from provisioning.tables import accounts, audit, idempotency, ledger, outbox, realms, subscriptions, tokens


def one_of(conn: AsyncConnection, column: Any, values: Sequence[Any]) -> Any:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``: asyncpg prepares
    statements, and the generic plan for a 500-parameter IN list degrades to a scan
    that compares every row with every parameter (seen at 40,000 accounts)."""
    if conn.dialect.name != "postgresql":
        return column.in_(values)
    from sqlalchemy.dialects.postgresql import ARRAY

    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))


# Any constant will do: it names the one advisory lock that orders outbox writers.
OUTBOX_LOCK = 0x4A45_5430


def realm_from_row(row: Row[Any]) -> Realm:
    m = dict(row._mapping)
    m["domains"] = tuple(m["domains"] or ())
    m["auth_settings"] = dict(m["auth_settings"] or {})
    return Realm(**m)


def account_from_row(row: Row[Any]) -> Account:
    m = dict(row._mapping)
    creds = Credentials(m.pop("password_hash"), m.pop("nt_hash"), m.pop("cleartext"))
    m["reply"] = dict(m["reply"] or {})
    return Account(**m, credentials=creds)


def subscription_from_row(row: Row[Any]) -> Subscription:
    m = row._mapping
    return Subscription(m["id"], m["account_id"], m["plan"], m["start_date"], m["end_date"])


# --- realms -------------------------------------------------------------------------------

async def get_realm(conn: AsyncConnection, name: str) -> Realm | None:
    row = (await conn.execute(select(realms).where(realms.c.name == name))).first()
    return None if row is None else realm_from_row(row)


async def list_realms(conn: AsyncConnection, *, only: str | None = None, after: str | None = None,
                      limit: int | None = None) -> list[Realm]:
    q = select(realms).order_by(realms.c.name)
    if only is not None:
        q = q.where(realms.c.name == only)
    if after is not None:
        q = q.where(realms.c.name > after)
    if limit is not None:
        q = q.limit(limit)
    return [realm_from_row(r) for r in await conn.execute(q)]


async def insert_realm(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(realms.insert().values(**values))


async def update_realm(conn: AsyncConnection, name: str, values: dict[str, Any]) -> None:
    await conn.execute(update(realms).where(realms.c.name == name).values(**values))


async def drop_credential(conn: AsyncConnection, realm: str, column: str, now: datetime) -> list[int]:
    """The realm stopped allowing CHAP (cleartext) or MS-CHAP (nt_hash): forget them."""
    col = accounts.c[column]
    ids = [r[0] for r in await conn.execute(
        select(accounts.c.id).where(accounts.c.realm == realm, col.is_not(None)))]
    if ids:
        await conn.execute(update(accounts).where(accounts.c.realm == realm, col.is_not(None)).values(
            {column: None, "updated_at": now}))
    return ids


# --- accounts -----------------------------------------------------------------------------

async def get_account(conn: AsyncConnection, account_id: int) -> Account | None:
    row = (await conn.execute(select(accounts).where(accounts.c.id == account_id))).first()
    return None if row is None else account_from_row(row)


async def find_account(conn: AsyncConnection, realm: str, username: str) -> Account | None:
    q = select(accounts).where(accounts.c.realm == realm, accounts.c.username == username)
    row = (await conn.execute(q)).first()
    return None if row is None else account_from_row(row)


async def existing_usernames(conn: AsyncConnection, realm: str, names: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(names), 500):
        q = select(accounts.c.username).where(accounts.c.realm == realm,
                                              one_of(conn, accounts.c.username, names[i:i + 500]))
        found.update(r[0] for r in await conn.execute(q))
    return found


async def list_accounts(conn: AsyncConnection, *, realm: str | None, status: str | None, after: int,
                        limit: int, username: str | None = None) -> list[Account]:
    q = select(accounts).where(accounts.c.id > after).order_by(accounts.c.id).limit(limit)
    if realm is not None:
        q = q.where(accounts.c.realm == realm)
    if status is not None:
        q = q.where(accounts.c.status == status)
    if username is not None:
        q = q.where(accounts.c.username == username)
    return [account_from_row(r) for r in await conn.execute(q)]


async def all_accounts(conn: AsyncConnection, realm: str | None = None) -> list[Account]:
    q = select(accounts).order_by(accounts.c.id)
    if realm is not None:
        q = q.where(accounts.c.realm == realm)
    return [account_from_row(r) for r in await conn.execute(q)]


async def accounts_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> list[Account]:
    out: list[Account] = []
    for i in range(0, len(ids), 500):
        q = select(accounts).where(one_of(conn, accounts.c.id, ids[i:i + 500]))
        out.extend(account_from_row(r) for r in await conn.execute(q))
    return out


async def insert_accounts(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert many accounts; return their ids in the order given.

    PostgreSQL: one batched INSERT … RETURNING. SQLite: RETURNING with a guaranteed
    order runs one statement per row, so an executemany and the ids read back by
    (realm, username) instead.
    """
    if conn.dialect.name == "postgresql":
        q = accounts.insert().returning(accounts.c.id, sort_by_parameter_order=True)
        return [r[0] for r in await conn.execute(q, rows)]
    await conn.execute(accounts.insert(), rows)
    ids: dict[tuple[str, str], int] = {}
    for realm in {r["realm"] for r in rows}:
        names = [r["username"] for r in rows if r["realm"] == realm]
        for i in range(0, len(names), 500):
            q2 = select(accounts.c.id, accounts.c.username).where(
                accounts.c.realm == realm, accounts.c.username.in_(names[i:i + 500]))
            ids.update(((realm, r[1]), r[0]) for r in await conn.execute(q2))
    return [ids[(r["realm"], r["username"])] for r in rows]


async def update_account(conn: AsyncConnection, account_id: int, values: dict[str, Any]) -> None:
    await conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))


async def auth_rows(conn: AsyncConnection, ids: Sequence[int] | None = None) -> list[tuple[Any, ...]]:
    """Just what authentication needs, as plain tuples (the cache loads 100,000s of these)."""
    a = accounts.c
    q = select(a.id, a.realm, a.username, a.status, a.password_hash, a.nt_hash, a.cleartext,
               a.simultaneous_use, a.static_ip, a.pool, cast(a.reply, Text))  # text: skip the JSON codec
    if ids is None:
        return [tuple(r) for r in (await conn.execute(q)).all()]
    out: list[tuple[Any, ...]] = []
    for i in range(0, len(ids), 500):
        out.extend(tuple(r) for r in await conn.execute(q.where(one_of(conn, a.id, ids[i:i + 500]))))
    return out


async def plan_rows(conn: AsyncConnection, day: date, ids: Sequence[int] | None = None,
                    ) -> list[tuple[int, date, date | None, str]]:
    """(account id, start, end, plan) of subscriptions not ended by ``day``, by start."""
    s = subscriptions.c
    q = select(s.account_id, s.start_date, s.end_date, s.plan).where(
        or_(s.end_date.is_(None), s.end_date > day)).order_by(s.account_id, s.start_date, s.id)
    if ids is None:
        return [tuple(r) for r in (await conn.execute(q)).all()]
    out: list[tuple[int, date, date | None, str]] = []
    for i in range(0, len(ids), 500):
        out.extend(tuple(r) for r in await conn.execute(q.where(one_of(conn, s.account_id, ids[i:i + 500]))))
    return out


# --- subscriptions ------------------------------------------------------------------------

async def subscriptions_of(conn: AsyncConnection, account_id: int) -> list[Subscription]:
    q = select(subscriptions).where(subscriptions.c.account_id == account_id).order_by(
        subscriptions.c.start_date, subscriptions.c.id)
    return [subscription_from_row(r) for r in await conn.execute(q)]


async def current_and_future(conn: AsyncConnection, day: date,
                             account_ids: Sequence[int] | None = None) -> list[Subscription]:
    """Subscriptions not ended by ``day``, for some accounts or all."""
    q = select(subscriptions).where(or_(subscriptions.c.end_date.is_(None), subscriptions.c.end_date > day))
    q = q.order_by(subscriptions.c.account_id, subscriptions.c.start_date, subscriptions.c.id)
    if account_ids is None:
        return [subscription_from_row(r) for r in await conn.execute(q)]
    out: list[Subscription] = []
    for i in range(0, len(account_ids), 500):
        part = q.where(one_of(conn, subscriptions.c.account_id, account_ids[i:i + 500]))
        out.extend(subscription_from_row(r) for r in await conn.execute(part))
    return out


async def insert_subscriptions(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(subscriptions.insert(), rows)


async def end_subscription(conn: AsyncConnection, sub_id: int, end: date) -> None:
    await conn.execute(update(subscriptions).where(subscriptions.c.id == sub_id).values(end_date=end))


async def delete_subscriptions(conn: AsyncConnection, ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        await conn.execute(delete(subscriptions).where(subscriptions.c.id.in_(ids)))


# --- ledger -------------------------------------------------------------------------------

async def insert_ledger(conn: AsyncConnection, values: dict[str, Any]) -> LedgerEntry:
    new_id = (await conn.execute(ledger.insert().values(**values).returning(ledger.c.id))).scalar_one()
    return LedgerEntry(id=new_id, **values)


async def ledger_of(conn: AsyncConnection, account_id: int, *, kind: str | None = None, after: int = 0,
                    limit: int | None = None) -> list[LedgerEntry]:
    q = select(ledger).where(ledger.c.account_id == account_id, ledger.c.id > after).order_by(ledger.c.id)
    if kind is not None:
        q = q.where(ledger.c.kind == kind)
    if limit is not None:
        q = q.limit(limit)
    return [LedgerEntry(**r._mapping) for r in await conn.execute(q)]


# --- tokens -------------------------------------------------------------------------------

async def insert_token(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return int((await conn.execute(tokens.insert().values(**values).returning(tokens.c.id))).scalar_one())


async def token_by_hash(conn: AsyncConnection, token_hash: str) -> Token | None:
    q = select(tokens.c.id, tokens.c.name, tokens.c.realm, tokens.c.created_at, tokens.c.revoked_at).where(
        tokens.c.token_hash == token_hash)
    row = (await conn.execute(q)).first()
    return None if row is None else Token(**row._mapping)


async def list_tokens(conn: AsyncConnection, realm: str | None) -> list[Token]:
    q = select(tokens.c.id, tokens.c.name, tokens.c.realm, tokens.c.created_at, tokens.c.revoked_at)
    if realm is not None:
        q = q.where(tokens.c.realm == realm)
    return [Token(**r._mapping) for r in await conn.execute(q.order_by(tokens.c.id))]


async def revoke_token(conn: AsyncConnection, token_id: int, now: datetime) -> None:
    await conn.execute(update(tokens).where(tokens.c.id == token_id).values(revoked_at=now))


# --- audit and outbox ---------------------------------------------------------------------

async def add_audit(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(audit.insert(), [{**r, "before": jsonable(r.get("before")),
                                             "after": jsonable(r.get("after"))} for r in rows])


async def list_audit(conn: AsyncConnection, *, realm: str | None, object_type: str | None,
                     object_id: str | None, after: int, limit: int) -> list[AuditEntry]:
    q = select(audit).where(audit.c.id > after).order_by(audit.c.id).limit(limit)
    if realm is not None:
        q = q.where(audit.c.realm == realm)
    if object_type is not None:
        q = q.where(audit.c.object_type == object_type)
    if object_id is not None:
        q = q.where(audit.c.object_id == object_id)
    return [AuditEntry(**r._mapping) for r in await conn.execute(q)]


async def add_events(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Write outbox rows in the caller's transaction.

    On PostgreSQL, ids come from a sequence and transactions may commit out of id
    order, which would let a follower polling ``id > last`` skip a row. Holding one
    transaction-scoped advisory lock from before the ids are drawn until commit makes
    commit order equal id order. SQLite has a single writer anyway.
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": OUTBOX_LOCK})
    await conn.execute(outbox.insert(), [{**r, "payload": jsonable(r["payload"])} for r in rows])


async def events_after(conn: AsyncConnection, after: int, limit: int) -> list[Event]:
    q = select(outbox).where(outbox.c.id > after).order_by(outbox.c.id).limit(limit)
    return [Event(**r._mapping) for r in await conn.execute(q)]


async def last_event_id(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.coalesce(func.max(outbox.c.id), 0)))).scalar_one())


# --- idempotency --------------------------------------------------------------------------

async def idempotency_get(conn: AsyncConnection, token_id: int, key: str) -> Row[Any] | None:
    q = select(idempotency).where(and_(idempotency.c.token_id == token_id, idempotency.c.key == key))
    return (await conn.execute(q)).first()


async def idempotency_insert(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(idempotency.insert().values(**values))


async def idempotency_set(conn: AsyncConnection, token_id: int, key: str, values: dict[str, Any]) -> None:
    await conn.execute(update(idempotency).where(
        idempotency.c.token_id == token_id, idempotency.c.key == key).values(**values))


async def idempotency_delete(conn: AsyncConnection, token_id: int, key: str) -> None:
    await conn.execute(delete(idempotency).where(
        idempotency.c.token_id == token_id, idempotency.c.key == key))


async def idempotency_prune(conn: AsyncConnection, token_id: int, before: datetime) -> None:
    await conn.execute(delete(idempotency).where(
        idempotency.c.token_id == token_id, idempotency.c.created_at < before))
