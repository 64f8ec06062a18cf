"""A lean pipelined RESP connection for the hot path's FCALLs on a single Redis server.

redis-py spends ~9 µs of client CPU per command even inside a pipeline of 100, and 30-60 µs
for a command alone (its pool, retries, timeouts and response callbacks); packing the command
and parsing the reply with hiredis on an ``asyncio.Protocol`` costs ~2 µs (bench/quota). Every
command issued in one event-loop iteration goes out in one write; replies come back in order.

Only ``FCALL``/``FCALL_RO`` go this way (their replies need none of redis-py's response
callbacks); everything else, and a Redis Cluster, stays with redis-py. Errors are redis-py's
(``ResponseError``, ``ConnectionError``, ``TimeoutError``), so callers translate them as before.
A lost connection fails what was in flight; the next call connects again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from typing import Any
from urllib.parse import urlsplit

import hiredis
from redis.asyncio.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from quota.batch import Coalescing

CHECK_EVERY = 0.5  # seconds between checks for a reply overdue


def pack(command: tuple[Any, ...]) -> bytes:
    parts = [b"*%d\r\n" % len(command)]
    for arg in command:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        elif isinstance(arg, int):
            data = b"%d" % arg
        else:
            data = str(arg).encode()
        parts.append(b"$%d\r\n" % len(data))
        parts.append(data)
        parts.append(b"\r\n")
    return b"".join(parts)


def usable(url: str) -> bool:
    """Whether ``url`` names a plain TCP Redis this connection can speak to (not TLS, a socket
    path or a cluster)."""
    return urlsplit(url).scheme == "redis"


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.pending: collections.deque[tuple[asyncio.Future[Any], float]] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        pending = self.pending
        while True:
            try:
                reply = self.reader.gets()
            except hiredis.ProtocolError as exc:  # not RESP: nothing more on this connection is trusted
                self.fail(RedisConnectionError(f"Redis sent what is not RESP: {exc}"))
                if self.transport is not None:
                    self.transport.abort()
                return
            if reply is False:
                return
            future = pending.popleft()[0]
            if future.done():
                continue
            if isinstance(reply, hiredis.ReplyError):
                future.set_exception(ResponseError(str(reply)))
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(RedisConnectionError(f"connection to Redis lost: {exc or 'closed'}"))
        if not self.lost.done():
            self.lost.set_result(None)

    def fail(self, exc: Exception) -> None:
        while self.pending:
            future = self.pending.popleft()[0]
            if not future.done():
                future.set_exception(exc)


class RespPipe(Coalescing[bytes]):
    """``await pipe("FCALL", …)`` like ``client.execute_command``; counts ``calls`` and
    ``round_trips`` like quota.batch.Batcher."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        super().__init__()
        parts = parse_url(url)  # redis-py's reading of the URL, as the rest of quota has it
        self.host: str = parts.get("host") or "127.0.0.1"
        self.port: int = parts.get("port") or 6379
        self.username: str | None = parts.get("username")
        self.password: str | None = parts.get("password")
        self.db: int = parts.get("db") or 0
        self.timeout = timeout
        self._proto: _Protocol | None = None
        self._connecting: asyncio.Task[_Protocol] | None = None
        self._watch: asyncio.Task[None] | None = None
        self.calls = 0
        self.round_trips = 0

    async def __call__(self, *command: Any) -> Any:
        self.calls += 1
        if self._proto is None or not self._proto.open:
            await self._connect()
        return await self._enqueue(pack(command))

    def _flush(self, batch: list[tuple[bytes, asyncio.Future[Any]]]) -> None:
        proto = self._proto
        if proto is None or not proto.open:
            for _, future in batch:
                if not future.done():
                    future.set_exception(RedisConnectionError("connection to Redis lost"))
            return
        self.round_trips += 1
        sent = time.monotonic()
        proto.pending.extend((future, sent) for _, future in batch)
        assert proto.transport is not None
        proto.transport.write(b"".join(data for data, _ in batch))

    async def _connect(self) -> _Protocol:
        if self._connecting is None:
            self._connecting = asyncio.get_running_loop().create_task(self._open())
        task = self._connecting
        try:
            return await asyncio.shield(task)
        finally:
            if task.done() and self._connecting is task:
                self._connecting = None

    async def _open(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                _, proto = await loop.create_connection(_Protocol, self.host, self.port)
        except (OSError, TimeoutError) as exc:
            raise RedisConnectionError(f"cannot connect to Redis at {self.host}:{self.port}: {exc}") from exc
        hello: list[tuple[Any, ...]] = []
        if self.password is not None:
            hello.append(("AUTH", self.username, self.password) if self.username else ("AUTH", self.password))
        if self.db:
            hello.append(("SELECT", self.db))
        for command in hello:
            future: asyncio.Future[Any] = loop.create_future()
            proto.pending.append((future, time.monotonic()))
            assert proto.transport is not None
            proto.transport.write(pack(command))
            try:
                async with asyncio.timeout(self.timeout):
                    await future
            except (ResponseError, TimeoutError) as exc:  # a wrong password is Redis not being there
                proto.transport.abort()
                where = f"{self.host}:{self.port}"
                raise RedisConnectionError(f"Redis at {where} refused {command[0]}: {exc}") from exc
        self._proto = proto  # only now: commands queued meanwhile waited for AUTH and SELECT
        if self._watch is None or self._watch.done():
            self._watch = loop.create_task(self._overdue())
        return proto

    async def _overdue(self) -> None:
        """A reply not back within ``timeout``: the connection is dropped and what was in flight
        fails with TimeoutError (a Redis that hangs must not hold accounting forever)."""
        while True:
            await asyncio.sleep(CHECK_EVERY)
            proto = self._proto
            if proto is None or not proto.pending:
                continue
            if time.monotonic() - proto.pending[0][1] > self.timeout:
                proto.fail(RedisTimeoutError(f"no reply from Redis within {self.timeout:g} s"))
                if proto.transport is not None:
                    proto.transport.abort()
                self._proto = None

    async def aclose(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        proto, self._proto = self._proto, None
        if proto is not None and proto.transport is not None:
            proto.transport.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(proto.lost), 1.0)
