"""One-off charges, payments and top-ups (the ledger), balances and the account overview."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from provisioning import store, validate
from provisioning.base import ServiceBase
from provisioning.errors import Conflict, Invalid
from provisioning.models import Account, Actor, LedgerEntry, Page
from rating.money import SCALES, round_to

EVENTS = {"payment": "payment.received", "topup": "topup.received"}


def ledger_amount(value: Decimal, currency: str) -> Decimal:
    """As written on a ledger line: the currency's scale, half up (DESIGN: money).
    A currency rating does not know (declared only in a pricebook) is kept as given."""
    if currency in SCALES:
        value = round_to(value, SCALES[currency])
        if value <= 0:
            raise Invalid("amount", f"rounds to zero in {currency}")
    return value


class LedgerOps(ServiceBase):
    async def add_ledger(self, actor: Actor, account_id: int, kind: str, amount: Any, *,
                         currency: str | None = None, description: str | None = None,
                         reference: str | None = None, entry_date: date | None = None) -> LedgerEntry:
        """A ledger line; ``amount`` is a positive decimal string in the realm's currency."""
        if kind not in ("charge", "payment", "topup"):
            raise Invalid("kind", "charge, payment or topup")
        value = validate.decimal(amount, "amount", positive=True)
        validate.short_text(description, "description", 500)
        validate.short_text(reference, "reference", 128)
        now = self.now()
        async with self._tx() as conn:
            account = await self._visible_account(conn, actor, account_id)
            if account.status == "closed" and kind == "topup":
                raise Conflict(f"account {account_id} is closed")
            realm = await store.get_realm(conn, account.realm)
            assert realm is not None
            if currency is not None and currency != realm.currency:
                raise Invalid("currency", f"realm {realm.name} bills in {realm.currency}")
            value = ledger_amount(value, realm.currency)
            entry = await store.insert_ledger(conn, {
                "account_id": account_id, "realm": account.realm, "kind": kind, "amount": value,
                "currency": realm.currency, "description": description or kind, "reference": reference,
                "entry_date": entry_date or self.today(), "created_at": now, "actor": actor.name})
            events = []
            if kind in EVENTS:
                events.append(self._event_row(EVENTS[kind], now, account_id, account.realm,
                                              entry=entry.to_dict(), account=account.to_dict()))
            await self._record(conn, [self._audit_row(actor, now, f"ledger.{kind}", "ledger", entry.id,
                                                      account.realm, None, entry.to_dict())], events)
        return entry

    async def charge(self, actor: Actor, account_id: int, amount: Any, **kw: Any) -> LedgerEntry:
        return await self.add_ledger(actor, account_id, "charge", amount, **kw)

    async def payment(self, actor: Actor, account_id: int, amount: Any, **kw: Any) -> LedgerEntry:
        return await self.add_ledger(actor, account_id, "payment", amount, **kw)

    async def topup(self, actor: Actor, account_id: int, amount: Any, **kw: Any) -> LedgerEntry:
        return await self.add_ledger(actor, account_id, "topup", amount, **kw)

    async def ledger(self, actor: Actor, account_id: int, *, kind: str | None = None, limit: int = 100,
                     cursor: str | None = None) -> Page[LedgerEntry]:
        after = int(cursor) if cursor and cursor.isdigit() and len(cursor) < 19 else 0
        if cursor is not None and not after:
            raise Invalid("cursor", "not a cursor this API returned")
        async with self.engine.connect() as conn:
            await self._visible_account(conn, actor, account_id)
            items = await store.ledger_of(conn, account_id, kind=kind, after=after, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items, str(items[-1].id) if more else None)

    async def balances(self, actor: Actor, account_id: int) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            account = await self._visible_account(conn, actor, account_id)
            entries = await store.ledger_of(conn, account_id)
            realm = await store.get_realm(conn, account.realm)
        assert realm is not None
        sums = {k: Decimal(0) for k in ("charge", "payment", "topup")}
        for e in entries:
            sums[e.kind] += e.amount
        out: dict[str, Any] = {
            "currency": realm.currency,
            "charges": str(sums["charge"]), "payments": str(sums["payment"]), "topups": str(sums["topup"]),
            # positive: the customer is in credit
            "balance": str(sums["payment"] + sums["topup"] - sums["charge"]),
            "source": "ledger",
        }
        if self.balance_source is not None:
            out = await self.balance_source(account, out)
        return out

    async def usage(self, actor: Actor, account: Account, day: date | None = None) -> dict[str, Any]:
        """Usage for the billing period containing ``day``. The quota issue supplies the
        figures through ``usage_source``; until then they are zero."""
        start, end = validate.period_of(account.cycle_day, day or self.today())
        out: dict[str, Any] = {"period_start": start.isoformat(), "period_end": end.isoformat(),
                               "octets_in": 0, "octets_out": 0, "seconds": 0, "sessions": 0,
                               "source": "none"}
        if self.usage_source is not None:
            out.update(await self.usage_source(account, start, end))
        return out

    async def overview(self, actor: Actor, account_id: int) -> dict[str, Any]:
        """What ``jetctl account show`` and ``GET /v1/accounts/{id}/overview`` print."""
        account = await self.get_account(actor, account_id)  # type: ignore[attr-defined]
        plan = await self.plan_on(actor, account_id)  # type: ignore[attr-defined]
        subs = await self.subscriptions(actor, account_id)  # type: ignore[attr-defined]
        return {**account.to_dict(), "plan": plan,
                "subscriptions": [s.to_dict() for s in subs],
                "balances": await self.balances(actor, account_id),
                "usage": await self.usage(actor, account)}
