"""API tokens, the audit log, the outbox (read side), idempotency keys, the auth snapshot."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from provisioning import store, validate
from provisioning.auth import AuthAccount, auth_account
from provisioning.base import ServiceBase
from provisioning.errors import Conflict, Forbidden, Invalid, NotFound
from provisioning.models import Actor, AuditEntry, Event, Page, Token

TOKEN_PREFIX = "jet_"
IDEMPOTENCY_KEEP = timedelta(hours=24)  # a key older than this is forgotten


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


class AccessOps(ServiceBase):
    # --- tokens ---------------------------------------------------------------------------

    async def create_token(self, actor: Actor, name: str, realm: str | None = None) -> tuple[Token, str]:
        """A new API token; the plaintext is returned once and only its hash is kept."""
        validate.short_text(name, "name", 128, required=True)
        if actor.realm is not None and realm != actor.realm:
            raise Forbidden("a realm token may only create tokens for its own realm")
        now = self.now()
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self._tx() as conn:
            if realm is not None and await store.get_realm(conn, realm) is None:
                raise NotFound(f"no realm {realm}")
            token_id = await store.insert_token(conn, {"name": name, "token_hash": hash_token(plaintext),
                                                       "realm": realm, "created_at": now})
            token = Token(token_id, name, realm, now, None)
            await self._record(conn, [self._audit_row(actor, now, "token.created", "token", token_id, realm,
                                                      None, token.to_dict())], [])
        return token, plaintext

    async def authenticate(self, plaintext: str) -> Actor | None:
        if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 200:
            return None
        async with self.engine.connect() as conn:
            token = await store.token_by_hash(conn, hash_token(plaintext))
        if token is None or token.revoked_at is not None:
            return None
        return Actor(f"token:{token.id}:{token.name}", token.realm, token.id)

    async def list_tokens(self, actor: Actor) -> list[Token]:
        async with self.engine.connect() as conn:
            return await store.list_tokens(conn, actor.realm)

    async def revoke_token(self, actor: Actor, token_id: int) -> Token:
        now = self.now()
        async with self._tx() as conn:
            found = [t for t in await store.list_tokens(conn, actor.realm) if t.id == token_id]
            if not found:
                raise NotFound(f"no token {token_id}")
            await store.revoke_token(conn, token_id, now)
            await self._record(conn, [self._audit_row(actor, now, "token.revoked", "token", token_id,
                                                      found[0].realm)], [])
        return Token(token_id, found[0].name, found[0].realm, found[0].created_at, now)

    # --- audit and events -----------------------------------------------------------------

    async def audit_log(self, actor: Actor, *, object_type: str | None = None, object_id: str | None = None,
                        limit: int = 100, cursor: str | None = None) -> Page[AuditEntry]:
        after = 0
        if cursor is not None:
            if not cursor.isdigit() or len(cursor) > 18:
                raise Invalid("cursor", "not a cursor this API returned")
            after = int(cursor)
        async with self.engine.connect() as conn:
            items = await store.list_audit(conn, realm=actor.realm, object_type=object_type,
                                           object_id=object_id, after=after, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items, str(items[-1].id) if more else None)

    async def events_after(self, after: int, limit: int = 1000) -> list[Event]:
        async with self.engine.connect() as conn:
            return await store.events_after(conn, after, limit)

    async def last_event_id(self) -> int:
        async with self.engine.connect() as conn:
            return await store.last_event_id(conn)

    async def auth_snapshot(self, account_ids: list[int] | None = None, day: date | None = None,
                            ) -> tuple[int, list[AuthAccount]]:
        """What the account cache loads: (last outbox id, read first; the accounts' auth
        records with their current and future plans). Reading the id before the rows
        means following the outbox from it can only replay a change, never miss one."""
        day = day or self.today()
        async with self.engine.connect() as conn:
            last = await store.last_event_id(conn)
            rows = await store.auth_rows(conn, account_ids)
            plans: dict[int, list[tuple[date, date | None, str]]] = {}
            for account_id, start, end, plan in await store.plan_rows(conn, day, account_ids):
                plans.setdefault(account_id, []).append((start, end, plan))
        return last, [auth_account(row, plans.get(row[0], ())) for row in rows]

    # --- idempotency keys -----------------------------------------------------------------

    async def idempotency_begin(self, token_id: int, key: str, request_hash: str) -> tuple[int, str] | None:
        """None: go ahead (the key is now held). (status, body): replay that response.
        Conflict: the key is in use by a request still running, or by a different request."""
        if not key or len(key) > 255:
            raise Invalid("Idempotency-Key", "1–255 characters")
        async with self._tx() as conn:
            await store.idempotency_prune(conn, token_id, self.now() - IDEMPOTENCY_KEEP)
            row = await store.idempotency_get(conn, token_id, key)
            if row is None:
                try:
                    await store.idempotency_insert(conn, {
                        "token_id": token_id, "key": key, "request_hash": request_hash,
                        "created_at": self.now()})
                except IntegrityError:
                    raise Conflict("a request with this Idempotency-Key is in progress") from None
                return None
        if row.request_hash != request_hash:
            raise Conflict("this Idempotency-Key was used for a different request")
        if row.status is None:
            raise Conflict("a request with this Idempotency-Key is in progress")
        return int(row.status), str(row.body)

    async def idempotency_finish(self, token_id: int, key: str, status: int, body: str) -> None:
        async with self._tx() as conn:
            await store.idempotency_set(conn, token_id, key, {"status": status, "body": body})

    async def idempotency_abort(self, token_id: int, key: str) -> None:
        async with self._tx() as conn:
            await store.idempotency_delete(conn, token_id, key)

    def describe(self) -> dict[str, Any]:
        return {"database": self.engine.dialect.name}
