"""Realms: create, change, read; the default realm always exists (made by the first migration)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError

from provisioning import store, validate
from provisioning.base import ServiceBase
from provisioning.errors import Conflict, Forbidden, Invalid, NotFound
from provisioning.models import DEFAULT_REALM, Actor, Page, Realm

REALM_DEFAULTS: dict[str, Any] = {
    "domains": [], "currency": "EUR", "tax_name": "VAT", "tax_rate": "0",
    "invoice_format": "INV-{realm}-{yyyy}-{seq:06}", "email_delivery": True, "auth_mode": "local",
    "auth_settings": {}, "allow_chap": False, "allow_mschap": True, "logo_path": None,
    "colour_primary": None, "colour_accent": None, "watermark": None, "footer": None,
    "owner_account_id": None,
}
REALM_FIELDS = frozenset(REALM_DEFAULTS)


class RealmOps(ServiceBase):
    async def _check_realm_values(self, conn: Any, name: str, v: dict[str, Any]) -> dict[str, Any]:
        unknown = set(v) - REALM_FIELDS
        if unknown:
            raise Invalid(sorted(unknown)[0], "unknown field")
        out = dict(v)
        if "domains" in v:
            out["domains"] = list(validate.domains(v["domains"]))
            for other in await store.list_realms(conn):
                clash = set(other.domains) & set(out["domains"])
                if other.name != name and clash:
                    raise Conflict(f"domain {sorted(clash)[0]} already belongs to realm {other.name}")
        if "currency" in v:
            validate.currency(v["currency"])
        if "tax_name" in v:
            validate.short_text(v["tax_name"], "tax_name", 32, required=True)
        if "tax_rate" in v:
            out["tax_rate"] = validate.decimal(v["tax_rate"], "tax_rate", lo=Decimal(0),
                                               hi=Decimal(1))
        if "invoice_format" in v:
            validate.invoice_format(v["invoice_format"])
        for flag in ("email_delivery", "allow_chap", "allow_mschap"):
            if flag in v and not isinstance(v[flag], bool):
                raise Invalid(flag, "true or false")
        for key, limit in (("logo_path", 512), ("watermark", 128), ("footer", 2000)):
            if key in v:
                validate.short_text(v[key], key, limit)
        for key in ("colour_primary", "colour_accent"):
            if key in v:
                validate.colour(v[key], key)
        if "owner_account_id" in v and v["owner_account_id"] is not None:
            owner = await store.get_account(conn, v["owner_account_id"])
            if owner is None or owner.realm != DEFAULT_REALM:
                raise Invalid("owner_account_id", "must be an account in the default realm")
        return out

    async def create_realm(self, actor: Actor, name: str, **fields: Any) -> Realm:
        if actor.realm is not None:
            raise Forbidden("only an operator may create realms")
        validate.realm_name(name)
        now = self.now()
        values = {**REALM_DEFAULTS, **fields}
        validate.auth(values["auth_mode"], values["auth_settings"])
        async with self._tx() as conn:
            values = await self._check_realm_values(conn, name, values)
            if await store.get_realm(conn, name) is not None:
                raise Conflict(f"realm {name} exists")
            try:
                await store.insert_realm(conn, {"name": name, **values, "created_at": now, "updated_at": now})
            except IntegrityError:
                raise Conflict(f"realm {name} exists") from None
            realm = await store.get_realm(conn, name)
            assert realm is not None
            await self._record(conn, [self._audit_row(actor, now, "realm.created", "realm", name, name,
                                                      None, realm.to_dict())],
                               [self._event_row("realm.created", now, None, name, realm=realm.to_dict())])
        return realm

    async def update_realm(self, actor: Actor, name: str, **changes: Any) -> Realm:
        now = self.now()
        async with self._tx() as conn:
            before = await store.get_realm(conn, name)
            if before is None or not actor.sees(name):
                raise NotFound(f"no realm {name}")
            if actor.realm is not None and "owner_account_id" in changes:
                raise Forbidden("only an operator may change a realm's owner")
            values = await self._check_realm_values(conn, name, changes)
            mode = values.get("auth_mode", before.auth_mode)
            settings = values.get("auth_settings", before.auth_settings)
            validate.auth(mode, settings)
            await store.update_realm(conn, name, {**values, "updated_at": now})
            events = []
            dropped: set[int] = set()
            if values.get("allow_chap") is False:
                dropped.update(await store.drop_credential(conn, name, "cleartext", now))
            if values.get("allow_mschap") is False:
                dropped.update(await store.drop_credential(conn, name, "nt_hash", now))
            for account_id in sorted(dropped):
                events.append(self._event_row("account.updated", now, account_id, name,
                                              changed=["credentials"]))
            after = await store.get_realm(conn, name)
            assert after is not None
            events.insert(0, self._event_row("realm.updated", now, None, name, realm=after.to_dict()))
            await self._record(conn, [self._audit_row(actor, now, "realm.updated", "realm", name, name,
                                                      before.to_dict(), after.to_dict())], events)
        return after

    async def get_realm(self, actor: Actor, name: str) -> Realm:
        async with self.engine.connect() as conn:
            realm = await store.get_realm(conn, name)
        if realm is None or not actor.sees(name):
            raise NotFound(f"no realm {name}")
        return realm

    async def list_realms(self, actor: Actor, *, limit: int = 100, cursor: str | None = None) -> Page[Realm]:
        async with self.engine.connect() as conn:
            items = await store.list_realms(conn, only=actor.realm, after=cursor, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items, items[-1].name if more else None)

    async def all_realms(self) -> list[Realm]:
        async with self.engine.connect() as conn:
            return await store.list_realms(conn)

    async def resolve_username(self, actor: Actor, username: str,
                               realm: str | None = None) -> tuple[str, str]:
        """``user@realm`` (realm name or one of its domains) or a username with an explicit realm.

        A suffix that names no realm is part of the username (e-mail-like usernames in
        the default realm stay possible).
        """
        if realm is not None:
            return realm, username
        if "@" in username:
            user, _, suffix = username.rpartition("@")
            suffix = suffix.lower()
            for r in await self.all_realms():
                if user and (r.name == suffix or suffix in r.domains) and actor.sees(r.name):
                    return r.name, user
        return actor.realm or DEFAULT_REALM, username
