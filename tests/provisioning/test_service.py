"""Service rules on SQLite and PostgreSQL: accounts, plans, ledger, realms, audit, outbox."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from provisioning.credentials import nt_hash, verify_password
from provisioning.errors import Conflict, Forbidden, Invalid, NotFound
from provisioning.models import OPERATOR, Actor, NewAccount
from provisioning.service import Service
from tests.provisioning.conftest import Clock


async def test_default_realm_exists_after_migration(service: Service) -> None:
    realm = await service.get_realm(OPERATOR, "default")
    assert realm.currency == "EUR" and realm.auth_mode == "local"
    assert realm.invoice_format == "INV-{realm}-{yyyy}-{seq:06}"


async def test_create_account_stores_only_what_auth_needs(service: Service) -> None:
    a = await service.create_account(OPERATOR, NewAccount("alice", password="s3cret", plan="home",
                                                          email="a@example.net"))
    assert a.status == "active" and a.realm == "default"
    c = a.credentials
    assert c.password_hash is not None and c.password_hash.startswith("scrypt$16$8$1$")
    assert verify_password("s3cret", c.password_hash) and not verify_password("nope", c.password_hash)
    assert c.nt_hash == nt_hash("s3cret")
    assert c.cleartext is None  # the default realm does not allow CHAP
    assert "s3cret" not in str(a.to_dict())
    assert await service.plan_on(OPERATOR, a.id) == "home"

    await service.create_realm(OPERATOR, "chapper", allow_chap=True, allow_mschap=False)
    b = await service.create_account(OPERATOR, NewAccount("bob", realm="chapper", password="pw"))
    assert b.credentials.cleartext == "pw" and b.credentials.nt_hash is None
    await service.update_realm(OPERATOR, "chapper", allow_chap=False)
    b2 = await service.get_account(OPERATOR, b.id)
    assert b2.credentials.cleartext is None


async def test_validation_names_the_field(service: Service) -> None:
    with pytest.raises(Invalid) as e:
        await service.create_account(OPERATOR, NewAccount("carol", password="x", plan="nosuch"))
    assert e.value.field == "plan"
    with pytest.raises(Invalid) as e:
        await service.create_account(OPERATOR, NewAccount("carol", password="x", cycle_day=31))
    assert e.value.field == "cycle_day"
    with pytest.raises(Invalid) as e:
        await service.create_account(OPERATOR, NewAccount("bad name", password="x"))
    assert e.value.field == "username"
    with pytest.raises(Invalid) as e:
        await service.create_realm(OPERATOR, "r1", tax_rate=0.2)
    assert e.value.field == "tax_rate"
    with pytest.raises(Invalid) as e:
        await service.create_realm(OPERATOR, "r1", auth_mode="proxy")
    assert e.value.field == "auth_settings.servers"
    with pytest.raises(NotFound):
        await service.create_account(OPERATOR, NewAccount("carol", realm="nowhere", password="x"))


async def test_usernames_unique_per_realm(service: Service) -> None:
    await service.create_realm(OPERATOR, "isp2", domains=["isp2.example"])
    await service.create_account(OPERATOR, NewAccount("dave", password="x"))
    await service.create_account(OPERATOR, NewAccount("dave", realm="isp2", password="x"))
    with pytest.raises(Conflict):
        await service.create_account(OPERATOR, NewAccount("dave", password="y"))
    assert await service.resolve_username(OPERATOR, "dave@isp2") == ("isp2", "dave")
    assert await service.resolve_username(OPERATOR, "dave@isp2.example") == ("isp2", "dave")
    assert await service.resolve_username(OPERATOR, "dave@elsewhere.org") == ("default", "dave@elsewhere.org")


async def test_lifecycle_audit_and_outbox(service: Service, clock: Clock) -> None:
    a = await service.create_account(OPERATOR, NewAccount("erin", password="x", plan="home"))
    await service.suspend(OPERATOR, a.id, reason="unpaid")
    with pytest.raises(Conflict):
        await service.suspend(OPERATOR, a.id)
    await service.resume(OPERATOR, a.id)
    await service.set_password(OPERATOR, a.id, "new-pw")
    await service.update_account(OPERATOR, a.id, email="e@example.net", simultaneous_use=2)
    await service.payment(OPERATOR, a.id, "10.00")
    closed = await service.delete_account(OPERATOR, a.id)
    assert closed.status == "closed" and closed.credentials.password_hash is None
    with pytest.raises(Conflict):
        await service.resume(OPERATOR, a.id)
    events = await service.events_after(0)
    assert [e.type for e in events] == [
        "account.created", "account.suspended", "account.resumed", "account.password_changed",
        "account.updated", "payment.received", "account.deleted"]
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert events[1].payload["reason"] == "unpaid" and events[1].payload["version"] == 1
    assert events[0].payload["account"]["plan"] == "home"
    audit = (await service.audit_log(OPERATOR, object_type="account")).items
    assert [x.action for x in audit][:2] == ["account.created", "account.suspended"]
    assert audit[1].before is not None and audit[1].before["status"] == "active"
    assert audit[1].after is not None and audit[1].after["status"] == "suspended"
    assert await service.plan_on(OPERATOR, a.id) is None  # ended today


async def test_plan_change_ends_previous_subscription(service: Service, clock: Clock) -> None:
    a = await service.create_account(OPERATOR, NewAccount("fred", password="x", plan="home"))
    sub = await service.change_plan(OPERATOR, a.id, "pro", date(2026, 6, 20))
    assert sub.start_date == date(2026, 6, 20) and sub.end_date is None
    subs = await service.subscriptions(OPERATOR, a.id)
    assert [(s.plan, s.start_date, s.end_date) for s in subs] == [
        ("home", date(2026, 6, 10), date(2026, 6, 20)), ("pro", date(2026, 6, 20), None)]
    # a later change before the scheduled one supersedes it
    await service.change_plan(OPERATOR, a.id, "wholesale", date(2026, 6, 15))
    subs = await service.subscriptions(OPERATOR, a.id)
    assert [(s.plan, s.start_date, s.end_date) for s in subs] == [
        ("home", date(2026, 6, 10), date(2026, 6, 15)), ("wholesale", date(2026, 6, 15), None)]
    assert await service.plan_on(OPERATOR, a.id, date(2026, 6, 14)) == "home"
    with pytest.raises(Invalid):
        await service.change_plan(OPERATOR, a.id, "nosuch")
    ev = [e for e in await service.events_after(0) if e.type == "account.plan_changed"]
    assert ev[0].payload["previous_plan"] == "home" and ev[0].payload["effective"] == "2026-06-20"


async def test_ledger_is_exact_decimal(service: Service) -> None:
    a = await service.create_account(OPERATOR, NewAccount("gina", password="x"))
    await service.topup(OPERATOR, a.id, "0.10")
    await service.topup(OPERATOR, a.id, "0.20")
    await service.charge(OPERATOR, a.id, "0.05", description="setup")
    entry = await service.payment(OPERATOR, a.id, "100.125")  # written at EUR's scale, half up
    assert entry.amount == Decimal("100.13") and str(entry.amount) == "100.13"
    bal = await service.balances(OPERATOR, a.id)
    assert bal["topups"] == "0.30" and bal["charges"] == "0.05"
    assert bal["balance"] == "100.38"
    with pytest.raises(Invalid):
        await service.charge(OPERATOR, a.id, "0.004")
    with pytest.raises(Invalid) as e:
        await service.charge(OPERATOR, a.id, "-1")
    assert e.value.field == "amount"
    with pytest.raises(Invalid):
        await service.charge(OPERATOR, a.id, "1", currency="USD")
    overview = await service.overview(OPERATOR, a.id)
    assert overview["usage"]["period_start"] == "2026-06-01"
    assert overview["balances"]["currency"] == "EUR"


async def test_realm_actor_sees_only_its_realm(service: Service) -> None:
    await service.create_realm(OPERATOR, "isp2")
    await service.create_realm(OPERATOR, "isp3")
    mine = await service.create_account(OPERATOR, NewAccount("h", realm="isp2", password="x"))
    theirs = await service.create_account(OPERATOR, NewAccount("h", realm="isp3", password="x"))
    isp2 = Actor("test", realm="isp2")
    assert (await service.get_account(isp2, mine.id)).id == mine.id
    for call in (service.get_account(isp2, theirs.id), service.suspend(isp2, theirs.id),
                 service.delete_account(isp2, theirs.id), service.payment(isp2, theirs.id, "1"),
                 service.subscriptions(isp2, theirs.id), service.get_realm(isp2, "isp3")):
        with pytest.raises(NotFound):
            await call
    with pytest.raises(NotFound):
        await service.create_account(isp2, NewAccount("x", realm="isp3", password="x"))
    with pytest.raises(Forbidden):
        await service.create_realm(isp2, "isp4")
    listed = (await service.list_accounts(isp2)).items
    assert [a.id for a in listed] == [mine.id]
    assert all(e.realm == "isp2" for e in (await service.audit_log(isp2)).items)


async def test_batch_create_is_all_or_nothing(service: Service) -> None:
    await service.create_account(OPERATOR, NewAccount("taken", password="x"))
    specs = [NewAccount(f"u{i}", password="x") for i in range(5)] + [NewAccount("taken", password="x")]
    with pytest.raises(Conflict):
        await service.create_accounts(OPERATOR, specs)
    assert len((await service.list_accounts(OPERATOR)).items) == 1
    made = await service.create_accounts(OPERATOR, specs[:5])
    assert [a.username for a in made] == [f"u{i}" for i in range(5)]
    page = await service.list_accounts(OPERATOR, limit=4)
    assert len(page.items) == 4 and page.next_cursor is not None
    rest = await service.list_accounts(OPERATOR, limit=4, cursor=page.next_cursor)
    assert len(rest.items) == 2 and rest.next_cursor is None


async def test_tokens_are_hashed_and_scoped(service: Service) -> None:
    await service.create_realm(OPERATOR, "isp2")
    token, plaintext = await service.create_token(OPERATOR, "isp2 admin", realm="isp2")
    actor = await service.authenticate(plaintext)
    assert actor is not None and actor.realm == "isp2" and actor.token_id == token.id
    assert await service.authenticate(plaintext + "x") is None
    with pytest.raises(Forbidden):
        await service.create_token(actor, "escalate", realm=None)
    await service.revoke_token(OPERATOR, token.id)
    assert await service.authenticate(plaintext) is None
