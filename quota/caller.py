"""The one place that sends commands to Redis and translates its errors into ``quota.errors``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from quota.batch import Batcher, Direct
from quota.errors import AccountNotFound, FunctionsMissing, QuotaError, QuotaUnavailable
from quota.resp import RespPipe

UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, RedisClusterException, OSError)


class RedisCaller:
    """FCALL/commands, direct or through the batcher; ``calls.calls``/``calls.round_trips`` count them."""

    def __init__(self, client: Redis | RedisCluster, *, batch: bool = False, fast: RespPipe | None = None
                 ) -> None:
        self.client = client
        self.calls: Batcher | Direct = Batcher(client) if batch else Direct(client)
        self.fast = fast  # FCALLs on a single server: quota.resp, without redis-py

    async def _fcall(self, name: str, keys: Sequence[str], args: Sequence[Any], ro: bool = False) -> Any:
        calls = self.fast if self.fast is not None else self.calls
        try:
            return await calls("FCALL_RO" if ro else "FCALL", name, len(keys), *keys, *args)
        except UNAVAILABLE as exc:
            raise QuotaUnavailable(str(exc)) from exc
        except ResponseError as exc:
            if "NOACCOUNT" in str(exc):
                raise AccountNotFound(str(keys[0])) from exc
            if "Function not found" in str(exc):
                raise FunctionsMissing(f"{name}: {exc}") from exc
            raise QuotaError(f"{name}: {exc}") from exc

    async def _cmd(self, *command: Any) -> Any:
        return await self._send(self.calls, command)

    async def _put(self, *command: Any) -> None:
        """A write whose reply is not looked at: over the lean connection when there is one (its
        replies are RESP as it comes, without redis-py's conversions)."""
        await self._send(self.fast if self.fast is not None else self.calls, command)

    @staticmethod
    async def _send(calls: Batcher | Direct | RespPipe, command: tuple[Any, ...]) -> Any:
        try:
            return await calls(*command)
        except UNAVAILABLE as exc:
            raise QuotaUnavailable(str(exc)) from exc
        except RedisError as exc:
            raise QuotaError(str(exc)) from exc
