"""Intake from the session streams on a real Redis, into both databases: idempotent,
acknowledged after commit, idle messages reclaimed, bad ones dead-lettered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from invoicing import store as istore
from invoicing.intake import DEAD_LETTER_STREAM, Intake, IntakeOptions
from provisioning.db import make_engine
from provisioning.models import OPERATOR, NewAccount
from provisioning.service import Service
from quota.handoff import stream_fields
from quota.keys import session_stream, shard_of
from tests.invoicing.worker_fixtures import s2_sessions

GROUP = "jet-invoicer"


def now() -> datetime:
    return datetime(2026, 7, 1, tzinfo=UTC)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url.rsplit("/", 1)[0] + "/5")  # a database of its own
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def service(database_url: str) -> AsyncIterator[Service]:
    svc = Service(make_engine(database_url), clock=now, scrypt_n=2)
    await svc.start()
    yield svc
    await svc.close()


def _intake(redis: Redis, service: Service, consumer: str, claim_idle: float = 60.0) -> Intake:
    return Intake(redis, service.engine, IntakeOptions(consumer=consumer, claim_idle=claim_idle), clock=now)


async def test_sessions_are_stored_once_and_acknowledged(redis: Redis, service: Service) -> None:
    account = (await service.create_account(OPERATOR, NewAccount("s2"))).id
    intake = _intake(redis, service, "a")
    await intake.ensure_groups()
    stream = session_stream(shard_of(str(account)))
    sessions = s2_sessions(account)
    for s in [*sessions, sessions[0]]:  # the last one is a redelivery (at least once)
        await redis.xadd(stream, stream_fields(s))  # type: ignore[arg-type]
    assert await intake.read_once() == 4
    async with service.engine.connect() as conn:
        assert await istore.sessions_count(conn) == 3
    assert (await redis.xpending(stream, GROUP))["pending"] == 0


async def test_a_dead_consumers_messages_are_reclaimed(redis: Redis, service: Service) -> None:
    account = (await service.create_account(OPERATOR, NewAccount("s2"))).id
    first = _intake(redis, service, "dead")
    await first.ensure_groups()
    stream = session_stream(shard_of(str(account)))
    await redis.xadd(stream, stream_fields(s2_sessions(account)[0]))  # type: ignore[arg-type]
    # "dead" reads it and dies before storing it
    await redis.xreadgroup(GROUP, "dead", {stream: ">"})
    assert (await redis.xpending(stream, GROUP))["pending"] == 1
    second = _intake(redis, service, "alive", claim_idle=0.001)
    assert await second.read_once() == 0
    assert await second.claim_once() == 1
    async with service.engine.connect() as conn:
        assert await istore.sessions_count(conn) == 1
    assert (await redis.xpending(stream, GROUP))["pending"] == 0


async def test_bad_messages_go_to_the_dead_letter_stream(redis: Redis, service: Service) -> None:
    intake = _intake(redis, service, "a")
    await intake.ensure_groups()
    stream = session_stream(0)
    await redis.xadd(stream, {"v": 1, "acct": "1", "sid": "x", "d": b"\xc1 not msgpack"})
    await redis.xadd(stream, stream_fields(s2_sessions(424242)[0]))  # type: ignore[arg-type]
    assert await intake.read_once() == 2
    dead = await redis.xrange(DEAD_LETTER_STREAM)
    reasons = [fields[b"reason"].decode() for _, fields in dead]
    assert reasons[0].startswith("cannot decode") and reasons[1] == "no account 424242 in this database"
    assert dead[0][1][b"f:d"] == b"\xc1 not msgpack"
    assert (await redis.xpending(stream, GROUP))["pending"] == 0


async def test_streams_are_trimmed_below_what_every_group_acked(redis: Redis, service: Service) -> None:
    account = (await service.create_account(OPERATOR, NewAccount("s2"))).id
    intake = _intake(redis, service, "a")
    await intake.ensure_groups()
    stream = session_stream(shard_of(str(account)))
    await redis.xgroup_create(stream, "another-reader", id="0")  # someone else reads the stream too
    sessions = s2_sessions(account)
    for s in sessions:
        await redis.xadd(stream, stream_fields(s))  # type: ignore[arg-type]
    assert await intake.read_once() == 3
    assert await intake.trim_once() == 0  # the other group has read nothing yet
    [[_, read]] = await redis.xreadgroup("another-reader", "x", {stream: ">"}, count=2)
    assert await intake.trim_once() == 0  # it has two pending: nothing below the first
    await redis.xack(stream, "another-reader", read[0][0])
    assert await intake.trim_once() == 1
    await redis.xack(stream, "another-reader", read[1][0])
    assert await intake.trim_once() == 0  # the last entry it read is the floor: kept
    assert await redis.xlen(stream) == 2
