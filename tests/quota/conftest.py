"""Fixtures for the quota tests: a client on the private redis-server, the library loaded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from quota.connect import connect
from quota.resp import RespPipe
from quota.store import QuotaStore


@pytest.fixture(scope="session")
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    assert isinstance(client, Redis)
    store = QuotaStore(client)
    await store.load_functions()
    yield client
    await client.aclose()


@pytest.fixture(params=["redis-py", "resp"])
async def store(request: pytest.FixtureRequest, redis_client: Redis, redis_url: str
                ) -> AsyncIterator[QuotaStore]:
    """The store with its FCALLs through redis-py, and through quota.resp as jetd runs it."""
    fast = RespPipe(redis_url) if request.param == "resp" else None
    yield QuotaStore(redis_client, fast=fast)
    if fast is not None:
        await fast.aclose()


@pytest.fixture
def account() -> str:
    return f"t{uuid.uuid4().hex[:10]}"
