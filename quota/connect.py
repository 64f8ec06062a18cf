"""Create a Redis client from ``[redis] url``: ``redis://``, ``rediss://``, ``unix://`` or
``redis+cluster://host:port`` (any one node of a Redis Cluster; the others are discovered)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")


def connect(url: str, *, max_connections: int = 128, pool_timeout: float = 5.0, **kwargs: Any
            ) -> Redis | RedisCluster:
    """A client that returns bytes (the façade needs raw msgpack blobs).

    A single server gets a *blocking* pool: past ``max_connections`` concurrent commands a
    caller waits (up to ``pool_timeout``) for a connection instead of failing, since redis-py's
    default pool raises "Too many connections" at 100, which would look like Redis being down.
    """
    kwargs["decode_responses"] = False
    scheme = urlsplit(url).scheme
    if scheme in CLUSTER_SCHEMES:
        plain = url.replace("+cluster", "", 1)
        return RedisCluster.from_url(plain, max_connections=max_connections, **kwargs)
    pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=pool_timeout,
                                           **kwargs)
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections
