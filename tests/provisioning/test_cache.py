"""The account cache: loaded from the store, kept current by following the outbox."""

from __future__ import annotations

from datetime import date

from provisioning.cache import AccountCache
from provisioning.credentials import nt_hash
from provisioning.models import OPERATOR, NewAccount
from provisioning.service import Service


async def test_two_caches_follow_the_outbox(service: Service) -> None:
    """Two caches (as in two jetd processes) see changes made through the service."""
    await service.create_realm(OPERATOR, "isp2", domains=["isp2.example"])
    a = await service.create_account(OPERATOR, NewAccount("alice", password="pw", plan="home",
                                                          simultaneous_use=1, static_ip="10.0.0.7"))
    first, second = AccountCache(service), AccountCache(service)
    await first.load()
    rec = first.get("default", "alice")
    assert rec is not None and rec.status == "active" and rec.plan_on(date(2026, 6, 10)) == "home"
    assert rec.nt_hash == bytes.fromhex(nt_hash("pw")) and rec.static_ip == "10.0.0.7"
    assert rec.simultaneous_use == 1 and rec.cleartext is None
    assert first.realm_for_domain("ISP2.example") is not None
    assert first.get("isp2", "alice") is None

    await service.suspend(OPERATOR, a.id)
    b = await service.create_account(OPERATOR, NewAccount("bob", realm="isp2", password="x"))
    await service.change_plan(OPERATOR, a.id, "pro", date(2026, 7, 1))
    await second.load()  # starts after the changes: sees them in its snapshot
    assert await first.refresh() == 3
    for cache in (first, second):
        rec = cache.get("default", "alice")
        assert rec is not None and rec.status == "suspended"
        assert rec.plan_on(date(2026, 6, 30)) == "home" and rec.plan_on(date(2026, 7, 1)) == "pro"
        assert cache.get("isp2", "bob") is not None

    await service.update_realm(OPERATOR, "isp2", domains=["isp2.net"])
    await service.delete_account(OPERATOR, b.id)
    await service.set_password(OPERATOR, a.id, "new")
    for cache in (first, second):
        await cache.refresh()
        assert cache.realm_for_domain("isp2.net") is not None
        assert cache.realm_for_domain("isp2.example") is None
        gone = cache.get("isp2", "bob")
        assert gone is not None and gone.status == "closed" and gone.password_hash is None
        rec = cache.get("default", "alice")
        assert rec is not None and rec.nt_hash == bytes.fromhex(nt_hash("new"))
    assert first.last_event_id == second.last_event_id == await service.last_event_id()
    assert await first.refresh() == 0


async def test_follow_task_picks_up_changes(service: Service) -> None:
    import asyncio

    cache = AccountCache(service, poll_interval=0.02)
    await cache.start()
    try:
        await service.create_account(OPERATOR, NewAccount("carol", password="pw"))
        for _ in range(200):
            if cache.get("default", "carol") is not None:
                break
            await asyncio.sleep(0.01)
        assert cache.get("default", "carol") is not None
    finally:
        await cache.stop()


async def test_pap_checks_from_the_cache(service: Service) -> None:
    from provisioning.pap import PapChecker

    await service.create_realm(OPERATOR, "papo", allow_mschap=False)
    await service.create_realm(OPERATOR, "chap", allow_chap=True)
    await service.create_account(OPERATOR, NewAccount("a", realm="papo", password="pw"))
    await service.create_account(OPERATOR, NewAccount("b", realm="chap", password="pw"))
    await service.create_account(OPERATOR, NewAccount("c", password="pw"))
    cache = AccountCache(service)
    await cache.load()
    pap = PapChecker()
    scrypt_only = cache.get("papo", "a")
    assert scrypt_only is not None and scrypt_only.nt_hash is None and scrypt_only.cleartext is None
    assert pap.check_fast(scrypt_only, "pw") is None  # needs scrypt the first time
    assert await pap.check_async(scrypt_only, "pw") is True
    assert pap.check_fast(scrypt_only, "pw") is True  # remembered
    assert pap.check(scrypt_only, "wrong") is False
    for realm, name in (("chap", "b"), ("default", "c")):
        rec = cache.get(realm, name)
        assert rec is not None
        assert pap.check_fast(rec, "pw") is True and pap.check_fast(rec, "nope") is False


async def test_no_change_is_missed_under_concurrent_writers(service: Service) -> None:
    """Outbox ids commit in order (an advisory lock on PostgreSQL), so a follower
    polling ``id > last`` while many transactions commit never skips one.

    A smoke test: without the lock the race window (id drawn, commit not yet done) is
    short enough that this rarely catches it; the lock is what guarantees it."""
    import asyncio

    cache = AccountCache(service, poll_interval=0.001)
    await cache.start()
    try:
        await asyncio.gather(*(service.create_account(OPERATOR, NewAccount(f"c{i}", password="pw"))
                               for i in range(40)))
        last = await service.last_event_id()
        for _ in range(500):
            if cache.last_event_id >= last:
                break
            await asyncio.sleep(0.01)
        assert all(cache.get("default", f"c{i}") is not None for i in range(40))
    finally:
        await cache.stop()
