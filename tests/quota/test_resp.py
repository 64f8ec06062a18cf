"""quota.resp, the hot path's FCALL connection: against real redis-servers, one of them stopped
and started again, one behind a password, and a listener that never answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from quota.functions import library_version
from quota.resp import RespPipe, pack, usable
from tests import servers


@pytest.fixture
async def pipe(redis_url: str, redis_client: Redis) -> AsyncIterator[RespPipe]:
    p = RespPipe(redis_url)
    yield p
    await p.aclose()


def test_commands_are_packed_as_resp() -> None:
    assert pack(("FCALL", "jet_version", 0)) == b"*3\r\n$5\r\nFCALL\r\n$11\r\njet_version\r\n$1\r\n0\r\n"
    assert pack(("SET", b"k\r\n", "\u00e9")) == b"*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$2\r\n\xc3\xa9\r\n"


def test_only_plain_tcp_urls_use_it() -> None:
    assert usable("redis://127.0.0.1:6379/0") and usable("redis://:pw@host/2")
    assert not any(map(usable, ("rediss://h:6380", "unix:///run/redis.sock", "redis+cluster://h:7000")))


async def test_replies_errors_and_one_write_for_what_one_loop_iteration_sends(pipe: RespPipe) -> None:
    versions = await asyncio.gather(*(pipe("FCALL_RO", "jet_version", 0) for _ in range(200)))
    assert versions == [library_version()] * 200
    assert (pipe.calls, pipe.round_trips) == (200, 1)
    with pytest.raises(ResponseError, match="Function not found"):
        await pipe("FCALL", "no_such_function", 0)
    assert await pipe("FCALL_RO", "jet_version", 0) == library_version()  # the connection goes on


async def test_a_lost_connection_fails_what_was_in_flight_and_the_next_call_connects_again(
        tmp_path: Path) -> None:
    port = servers.free_port()
    with servers.redis_server(tmp_path / "a", port=port) as (host, used, proc):
        pipe = RespPipe(f"redis://{host}:{used}/0")
        assert await pipe("SET", "k", "v") == b"OK"
        proc.terminate()
        proc.wait()
        with pytest.raises(RedisConnectionError):
            await pipe("GET", "k")
    with servers.redis_server(tmp_path / "b", port=port) as (host, used, _):
        assert used == port
        assert await pipe("SET", "k", "w") == b"OK"
        assert await pipe("GET", "k") == b"w"
        await pipe.aclose()


async def test_auth_and_the_database_from_the_url(tmp_path: Path) -> None:
    with servers.redis_server(tmp_path, "--requirepass", "s3cret") as (host, port, _):
        pipe = RespPipe(f"redis://:s3cret@{host}:{port}/3")
        assert await pipe("SET", "k", "in-3") == b"OK"
        await pipe.aclose()
        check = Redis(host=host, port=port, password="s3cret", db=3)
        assert await check.get("k") == b"in-3"
        await check.aclose()
        wrong = RespPipe(f"redis://:nope@{host}:{port}/0")
        with pytest.raises(RedisConnectionError, match="refused AUTH"):  # counted as Redis away
            await wrong("GET", "k")
        await wrong.aclose()


async def test_a_redis_that_never_answers_times_out() -> None:
    hung_up = asyncio.Event()

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read()  # reads everything, answers nothing, until the client hangs up
        finally:
            writer.close()
            hung_up.set()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pipe = RespPipe(f"redis://127.0.0.1:{port}/0", timeout=0.3)
    try:
        with pytest.raises(RedisTimeoutError):
            await pipe("FCALL", "jet_version", 0)
        await asyncio.wait_for(hung_up.wait(), 10)  # the overdue connection was dropped
    finally:
        await pipe.aclose()
        server.close()
        await server.wait_closed()


async def test_nothing_listening_is_a_connection_error() -> None:
    pipe = RespPipe(f"redis://127.0.0.1:{servers.free_port()}/0")
    with pytest.raises(RedisConnectionError, match="cannot connect"):
        await pipe("GET", "k")
    await pipe.aclose()
