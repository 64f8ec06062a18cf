"""Loading the ``jet`` Redis function library, with a version check.

FUNCTION LOAD REPLACE at start: functions survive failover (they are replicated and
persisted with the data) and work in cluster pipelines. An older jetd must not replace
a newer library that a newer jetd loaded, so the loaded version is read first.
"""

from __future__ import annotations

import importlib.resources
import re
from functools import cache
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from quota.errors import LibraryVersionError, QuotaError

LIBRARY_NAME = "jet"


@cache
def library_code() -> str:
    return importlib.resources.files("quota").joinpath("jet.lua").read_text(encoding="utf-8")


@cache
def library_version() -> int:
    match = re.search(r"^local LIB_VERSION = (\d+)$", library_code(), re.MULTILINE)
    if match is None:  # pragma: no cover - guarded by tests
        raise QuotaError("jet.lua has no LIB_VERSION")
    return int(match.group(1))


async def _loaded_version(client: Redis | RedisCluster, **target: Any) -> int | None:
    try:
        return int(await client.execute_command("FCALL_RO", "jet_version", 0, **target))
    except ResponseError as exc:
        if "function not found" in str(exc).lower():
            return None
        raise


async def _load_one(client: Redis | RedisCluster, **target: Any) -> int:
    ours = library_version()
    loaded = await _loaded_version(client, **target)
    if loaded is not None and loaded > ours:
        raise LibraryVersionError(loaded, ours)
    await client.execute_command("FUNCTION", "LOAD", "REPLACE", library_code(), **target)
    now = await _loaded_version(client, **target)
    if now != ours:
        raise QuotaError(f"loaded jet library reports version {now}, expected {ours}")
    return ours


async def load_library(client: Redis | RedisCluster) -> int:
    """Load (or replace) the library on the server, or on every primary of a cluster."""
    if isinstance(client, RedisCluster):
        await client.initialize()  # discover the nodes before listing the primaries
        primaries = client.get_primaries()
        if not primaries:
            raise QuotaError("Redis Cluster reports no primaries")
        for node in primaries:
            await _load_one(client, target_nodes=node)
        return library_version()
    return await _load_one(client)
