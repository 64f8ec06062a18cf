"""Fixtures for the quota tests: a client on the private redis-server, the library loaded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from quota.connect import connect
from quota.store import QuotaStore


@pytest.fixture(scope="session")
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    assert isinstance(client, Redis)
    store = QuotaStore(client)
    await store.load_functions()
    yield client
    await client.aclose()


@pytest.fixture
async def store(redis_client: Redis) -> QuotaStore:
    return QuotaStore(redis_client)


@pytest.fixture
def account() -> str:
    return f"t{uuid.uuid4().hex[:10]}"
