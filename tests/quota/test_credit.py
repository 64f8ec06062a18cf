"""Diameter credit-control sessions kept in Redis: written, found by Session-Id, listed by
account (the expired ones pruned from the index), dropped."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from quota.store import QuotaStore


async def test_kept_found_listed_and_dropped(store: QuotaStore, redis_client: Redis, account: str) -> None:
    one, two = f"pgw1;{uuid.uuid4().hex};1", f"pgw1;{uuid.uuid4().hex};2"
    await store.keep_credit_session(account, one, b"state one", 60, new=True)
    await store.keep_credit_session(account, two, b"state two", 60, new=True)
    await store.keep_credit_session(account, one, b"state one, later", 60)
    assert await store.credit_session(one) == b"state one, later"
    assert await store.credit_session("pgw1;nobody;1") is None
    assert 55 <= await redis_client.ttl(f"jet:gy:{one}") <= 60
    assert await store.credit_sessions(account) == {one: b"state one, later", two: b"state two"}
    everyone = await store.all_credit_sessions()  # every account's, found by SCAN
    assert {one: everyone[one], two: everyone[two]} == {one: b"state one, later", two: b"state two"}

    await redis_client.delete(f"jet:gy:{two}")  # expired: its gateway went quiet
    assert await store.credit_sessions(account) == {one: b"state one, later"}
    assert await redis_client.smembers(f"jet:{{acct:{account}}}:gy") == {one.encode()}

    await store.drop_credit_session(account, one)
    assert await store.credit_session(one) is None
    assert await store.credit_sessions(account) == {}
