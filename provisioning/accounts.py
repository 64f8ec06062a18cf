"""Accounts and their subscriptions: the rules for creating, changing and closing them."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from provisioning import store, validate
from provisioning.base import ServiceBase
from provisioning.credentials import Credentials, check_password, is_nt_hash
from provisioning.errors import Conflict, Invalid, NotFound
from provisioning.models import Account, Actor, NewAccount, Page, Realm, Subscription

UPDATABLE = {"contact_name", "email", "cycle_day", "simultaneous_use", "static_ip", "pool", "reply",
             "invoice_email"}


class AccountOps(ServiceBase):
    # --- creating -------------------------------------------------------------------------

    def _check_new(self, spec: NewAccount, realm: Realm, where: str = "") -> NewAccount:
        validate.username(spec.username, f"{where}username")
        if spec.status not in ("active", "suspended"):
            raise Invalid(f"{where}status", "a new account is active or suspended")
        if spec.password is not None:
            why = check_password(spec.password)
            if why:
                raise Invalid(f"{where}password", why)
        if spec.nt_hash is not None and not is_nt_hash(spec.nt_hash):
            raise Invalid(f"{where}nt_hash", "32 hex digits")
        if spec.plan is not None:
            validate.plan_name(spec.plan, f"{where}plan")
            if not self.plan_exists(realm.name, spec.plan):
                raise Invalid(f"{where}plan", f"no plan {spec.plan!r} in the pricebook of realm {realm.name}")
        validate.short_text(spec.contact_name, f"{where}contact_name", 200)
        validate.email(spec.email, f"{where}email")
        validate.cycle_day(spec.cycle_day, f"{where}cycle_day")
        validate.simultaneous_use(spec.simultaneous_use, f"{where}simultaneous_use")
        validate.short_text(spec.pool, f"{where}pool", 64)
        return replace(spec, static_ip=validate.static_ip(spec.static_ip, f"{where}static_ip"),
                       reply=validate.reply(spec.reply, f"{where}reply"))

    def _creds_for(self, spec: NewAccount, realm: Realm) -> Credentials:
        if spec.password is not None:
            return self._credentials_sync(spec.password, realm.allow_chap, realm.allow_mschap)
        nt = spec.nt_hash.lower() if spec.nt_hash and realm.allow_mschap else None
        return Credentials(None, nt, None)

    async def check_new_account(self, actor: Actor, spec: NewAccount) -> None:
        """Would ``create_account(spec)`` be refused? Raise its error; write nothing."""
        async with self.engine.connect() as conn:
            realm = await store.get_realm(conn, spec.realm)
            if realm is None or not actor.sees(spec.realm):
                raise NotFound(f"no realm {spec.realm}")
            self._check_new(spec, realm)
            if await store.find_account(conn, spec.realm, spec.username) is not None:
                raise Conflict(f"username {spec.username} exists in realm {spec.realm}")

    async def create_account(self, actor: Actor, spec: NewAccount) -> Account:
        return (await self.create_accounts(actor, [spec]))[0]

    async def create_accounts(self, actor: Actor, specs: list[NewAccount], *,
                              where: bool = False) -> list[Account]:
        """Create accounts in one transaction: all or none. ``where`` prefixes field paths with the index."""
        if not specs:
            return []
        now = self.now()
        async with self.engine.connect() as conn:
            realms = {r.name: r for r in await store.list_realms(conn)}
        checked: list[NewAccount] = []
        for i, spec in enumerate(specs):
            prefix = f"{i}." if where else ""
            realm = realms.get(spec.realm)
            if realm is None or not actor.sees(spec.realm):
                raise NotFound(f"no realm {spec.realm}")
            checked.append(self._check_new(spec, realm, prefix))
        seen: set[tuple[str, str]] = set()
        for i, spec in enumerate(checked):
            if (spec.realm, spec.username) in seen:
                raise Conflict(f"username {spec.username}@{spec.realm} given twice (item {i})")
            seen.add((spec.realm, spec.username))
        creds = await asyncio.to_thread(lambda: [self._creds_for(s, realms[s.realm]) for s in checked])
        rows = [{
            "realm": s.realm, "username": s.username, "status": s.status, "contact_name": s.contact_name,
            "email": s.email, "cycle_day": s.cycle_day, "password_hash": c.password_hash,
            "nt_hash": c.nt_hash, "cleartext": c.cleartext, "simultaneous_use": s.simultaneous_use,
            "static_ip": s.static_ip, "pool": s.pool, "reply": s.reply, "created_at": now, "updated_at": now,
            "invoice_email": s.invoice_email,
        } for s, c in zip(checked, creds, strict=True)]
        try:
            async with self._tx() as conn:
                ids = await store.insert_accounts(conn, rows)
                created = await self._after_create(conn, actor, now, checked, rows, ids, creds)
        except IntegrityError:  # the unique (realm, username) index said no: name one
            raise await self._taken(checked) from None
        return created

    async def _taken(self, specs: list[NewAccount]) -> Conflict:
        async with self.engine.connect() as conn:
            for realm_name in sorted({s.realm for s in specs}):
                names = [s.username for s in specs if s.realm == realm_name]
                taken = await store.existing_usernames(conn, realm_name, names)
                if taken:
                    return Conflict(f"username {sorted(taken)[0]} exists in realm {realm_name}")
        return Conflict("a username exists already")

    async def _after_create(self, conn: AsyncConnection, actor: Actor, now: datetime,
                            checked: list[NewAccount], rows: list[dict[str, Any]], ids: list[int],
                            creds: list[Credentials]) -> list[Account]:
        """Subscriptions, audit rows and account.created events, in the same transaction."""
        today = now.date()
        subs = [{"account_id": i, "plan": s.plan, "start_date": s.plan_start or today, "end_date": None,
                 "created_at": now} for i, s in zip(ids, checked, strict=True) if s.plan]
        await store.insert_subscriptions(conn, subs)
        created = [store_account(row, i, c) for row, i, c in zip(rows, ids, creds, strict=True)]
        plans = {s["account_id"]: s["plan"] for s in subs}
        audits, events = [], []
        for a in created:
            public = {**a.to_dict(), "plan": plans.get(a.id)}
            audits.append(self._audit_row(actor, now, "account.created", "account", a.id, a.realm,
                                          None, public))
            events.append(self._event_row("account.created", now, a.id, a.realm, account=public))
        await self._record(conn, audits, events)
        return created

    # --- reading --------------------------------------------------------------------------

    async def get_account(self, actor: Actor, account_id: int) -> Account:
        async with self.engine.connect() as conn:
            return await self._visible_account(conn, actor, account_id)

    async def find_account(self, actor: Actor, realm: str, username: str) -> Account:
        async with self.engine.connect() as conn:
            account = await store.find_account(conn, realm, username)
        if account is None or not actor.sees(account.realm):
            raise NotFound(f"no account {username} in realm {realm}")
        return account

    async def list_accounts(self, actor: Actor, *, realm: str | None = None, status: str | None = None,
                            username: str | None = None, limit: int = 100,
                            cursor: str | None = None) -> Page[Account]:
        if realm is not None and not actor.sees(realm):
            return Page([], None)
        after = _cursor(cursor)
        async with self.engine.connect() as conn:
            items = await store.list_accounts(conn, realm=realm or actor.realm, status=status, after=after,
                                              limit=limit + 1, username=username)
        more = len(items) > limit
        items = items[:limit]
        return Page(items, str(items[-1].id) if more else None)

    async def export_accounts(self, actor: Actor, realm: str | None) -> list[Account]:
        if realm is not None and not actor.sees(realm):
            raise NotFound(f"no realm {realm}")
        async with self.engine.connect() as conn:
            return await store.all_accounts(conn, realm or actor.realm)

    # --- changing -------------------------------------------------------------------------

    async def _change(self, actor: Actor, account_id: int, kind: str, values: dict[str, Any],
                      *, allowed_from: tuple[str, ...] = ("active", "suspended"), **payload: Any) -> Account:
        now = self.now()
        async with self._tx() as conn:
            before = await self._visible_account(conn, actor, account_id)
            if before.status not in allowed_from:
                raise Conflict(f"account {account_id} is {before.status}")
            await store.update_account(conn, account_id, {**values, "updated_at": now})
            after = await store.get_account(conn, account_id)
            assert after is not None
            extra = await self._on_change(conn, actor, kind, after, now)
            await self._record(conn, [self._audit_row(actor, now, kind, "account", account_id, after.realm,
                                                      before.to_dict(), after.to_dict())],
                               [self._event_row(kind, now, account_id, after.realm, account=after.to_dict(),
                                                **payload, **extra)])
        return after

    async def _on_change(self, conn: AsyncConnection, actor: Actor, kind: str, account: Account,
                         now: Any) -> dict[str, Any]:
        if kind != "account.deleted":
            return {}
        today = self.today()
        ended = []
        for sub in await store.current_and_future(conn, today, [account.id]):
            if sub.start_date > today:
                await store.delete_subscriptions(conn, [sub.id])
            else:
                await store.end_subscription(conn, sub.id, today)
                ended.append(sub.plan)
        return {"ended_plans": ended}

    async def update_account(self, actor: Actor, account_id: int, **changes: Any) -> Account:
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise Invalid(sorted(unknown)[0], "cannot be changed here")
        v = dict(changes)
        if "contact_name" in v:
            validate.short_text(v["contact_name"], "contact_name", 200)
        if "email" in v:
            validate.email(v["email"])
        if "cycle_day" in v:
            validate.cycle_day(v["cycle_day"])
        if "simultaneous_use" in v:
            validate.simultaneous_use(v["simultaneous_use"])
        if "static_ip" in v:
            v["static_ip"] = validate.static_ip(v["static_ip"])
        if "pool" in v:
            validate.short_text(v["pool"], "pool", 64)
        if "reply" in v:
            v["reply"] = validate.reply(v["reply"])
        if "invoice_email" in v and not (v["invoice_email"] is None or isinstance(v["invoice_email"], bool)):
            raise Invalid("invoice_email", "true, false or null (as the realm says)")
        return await self._change(actor, account_id, "account.updated", v, changed=sorted(v))

    async def suspend(self, actor: Actor, account_id: int, reason: str | None = None) -> Account:
        validate.short_text(reason, "reason", 200)
        return await self._change(actor, account_id, "account.suspended", {"status": "suspended"},
                                  allowed_from=("active",), reason=reason)

    async def resume(self, actor: Actor, account_id: int) -> Account:
        return await self._change(actor, account_id, "account.resumed", {"status": "active"},
                                  allowed_from=("suspended",))

    async def delete_account(self, actor: Actor, account_id: int) -> Account:
        """Close the account: credentials forgotten, subscriptions ended today, history kept
        (invoicing still needs it); the username stays taken."""
        return await self._change(actor, account_id, "account.deleted", {
            "status": "closed", "password_hash": None, "nt_hash": None, "cleartext": None})

    async def set_password(self, actor: Actor, account_id: int, password: str) -> Account:
        why = check_password(password)
        if why:
            raise Invalid("password", why)
        async with self.engine.connect() as conn:
            account = await self._visible_account(conn, actor, account_id)
            realm = await store.get_realm(conn, account.realm)
        assert realm is not None
        c = await self._credentials(password, allow_chap=realm.allow_chap, allow_mschap=realm.allow_mschap)
        return await self._change(actor, account_id, "account.password_changed", {
            "password_hash": c.password_hash, "nt_hash": c.nt_hash, "cleartext": c.cleartext})

    # --- subscriptions --------------------------------------------------------------------

    async def subscriptions(self, actor: Actor, account_id: int) -> list[Subscription]:
        async with self.engine.connect() as conn:
            await self._visible_account(conn, actor, account_id)
            return await store.subscriptions_of(conn, account_id)

    async def plan_on(self, actor: Actor, account_id: int, day: date | None = None) -> str | None:
        day = day or self.today()
        for sub in await self.subscriptions(actor, account_id):
            if sub.covers(day):
                return sub.plan
        return None

    async def change_plan(self, actor: Actor, account_id: int, plan: str,
                          effective: date | None = None) -> Subscription:
        """From ``effective`` (default today) the account is on ``plan``: the subscription
        running that day ends there, later scheduled ones are superseded."""
        validate.plan_name(plan)
        now = self.now()
        effective = effective or self.today()
        async with self._tx() as conn:
            account = await self._visible_account(conn, actor, account_id)
            if account.status == "closed":
                raise Conflict(f"account {account_id} is closed")
            if not self.plan_exists(account.realm, plan):
                raise Invalid("plan", f"no plan {plan!r} in the pricebook of realm {account.realm}")
            previous = None
            for sub in await store.current_and_future(conn, effective, [account_id]):
                if sub.start_date >= effective:
                    await store.delete_subscriptions(conn, [sub.id])
                else:
                    previous = sub.plan
                    await store.end_subscription(conn, sub.id, effective)
            await store.insert_subscriptions(conn, [{"account_id": account_id, "plan": plan,
                                                     "start_date": effective, "end_date": None,
                                                     "created_at": now}])
            subs = await store.subscriptions_of(conn, account_id)
            new = next(s for s in reversed(subs) if s.start_date == effective and s.plan == plan)
            await self._record(
                conn,
                [self._audit_row(actor, now, "account.plan_changed", "subscription", new.id, account.realm,
                                 {"plan": previous}, new.to_dict())],
                [self._event_row("account.plan_changed", now, account_id, account.realm,
                                 account=account.to_dict(), plan=plan, previous_plan=previous,
                                 effective=effective)])
        return new


def store_account(row: dict[str, Any], account_id: int, creds: Credentials) -> Account:
    public = {k: v for k, v in row.items() if k not in ("password_hash", "nt_hash", "cleartext")}
    return Account(id=account_id, credentials=creds, **public)


def _cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit() or len(cursor) > 18:
        raise Invalid("cursor", "not a cursor this API returned")
    return int(cursor)
