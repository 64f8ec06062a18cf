"""Create a Redis client from ``[redis] url``: ``redis://``, ``rediss://``, ``unix://`` or
``redis+cluster://host:port`` (any one node of a Redis Cluster; the others are discovered)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")


def connect(url: str, **kwargs: Any) -> Redis | RedisCluster:
    """A client that returns bytes (the façade needs raw msgpack blobs)."""
    kwargs["decode_responses"] = False
    scheme = urlsplit(url).scheme
    if scheme in CLUSTER_SCHEMES:
        plain = url.replace("+cluster", "", 1)
        return RedisCluster.from_url(plain, **kwargs)
    return Redis.from_url(url, **kwargs)
