"""Coalesce the Redis calls that arrive in one event-loop iteration into one pipeline.

redis-py spends ~33 µs of client CPU per single call but ~10 µs per call inside a
pipeline (DESIGN.md, performance facts). The batcher queues each call, and a callback
scheduled with ``call_soon`` sends everything queued so far as one non-transactional
pipeline. Each call still gets its own reply or error. Works with ``RedisCluster`` too:
its pipeline routes each FCALL by its keys (one slot per call).
"""

from __future__ import annotations

import asyncio
from typing import Any, Generic, TypeVar

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

T = TypeVar("T")


class Coalescing(Generic[T]):
    """Queues what is asked during one event-loop iteration and hands it all to ``_flush`` at the
    end of it (``call_soon``), each item with the future its caller awaits."""

    def __init__(self) -> None:
        self._queue: list[tuple[T, asyncio.Future[Any]]] = []
        self._scheduled = False

    def _enqueue(self, item: T, *, now: bool = False) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append((item, future))
        if now:
            self._flush_queue()
        elif not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush_queue)
        return future

    def _flush_queue(self) -> None:
        self._scheduled = False
        batch, self._queue = self._queue, []
        if batch:
            self._flush(batch)

    def _flush(self, batch: list[tuple[T, asyncio.Future[Any]]]) -> None:
        raise NotImplementedError


class Batcher(Coalescing[tuple[Any, ...]]):
    """``await batcher(*command)`` behaves like ``client.execute_command(*command)``."""

    def __init__(self, client: Redis | RedisCluster, max_batch: int = 1000) -> None:
        super().__init__()
        self._client = client
        self._max = max_batch
        self._tasks: set[asyncio.Task[None]] = set()
        self.calls = 0
        self.round_trips = 0

    async def __call__(self, *command: Any) -> Any:
        self.calls += 1
        return await self._enqueue(command, now=len(self._queue) + 1 >= self._max)

    def _flush(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        self.round_trips += 1
        try:
            if len(batch) == 1:
                results: list[Any] = [await self._client.execute_command(*batch[0][0])]
            else:
                pipe = self._client.pipeline(transaction=False)
                for command, _ in batch:
                    pipe.execute_command(*command)
                results = list(await pipe.execute(raise_on_error=False))
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


class Direct:
    """One round trip per call (the default without batching); counts like ``Batcher``."""

    def __init__(self, client: Redis | RedisCluster) -> None:
        self._client = client
        self.calls = 0
        self.round_trips = 0

    async def __call__(self, *command: Any) -> Any:
        self.calls += 1
        self.round_trips += 1
        return await self._client.execute_command(*command)
