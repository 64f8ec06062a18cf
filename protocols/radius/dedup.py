"""Duplicate detection (RFC 5080 §2.2.2) as a sans-IO table; the caller passes ``now``.

RFC 5080 §2.2.2: "a RADIUS server SHOULD cache the response ... the server should
consider the source IP address, source UDP port, Identifier, and Request
Authenticator ... A request that matches a cached request is a duplicate: the server
SHOULD retransmit the cached response ... If the original request is still being
processed, the duplicate request SHOULD be silently discarded."
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import Final


class _InProgress:
    __slots__ = ()

    def __repr__(self) -> str:
        return "IN_PROGRESS"


IN_PROGRESS: Final = _InProgress()


class DuplicateCache:
    """key -> IN_PROGRESS while the handler runs, then the encoded reply for ``window`` s."""

    __slots__ = ("_entries", "_expiry", "max_entries", "window")

    def __init__(self, window: float = 5.0, max_entries: int = 200_000) -> None:
        if window < 0 or max_entries < 1:
            raise ValueError("window must be >= 0 and max_entries >= 1")
        self.window = window
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[bytes | _InProgress, float]] = {}
        self._expiry: deque[tuple[float, Hashable]] = deque()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, now: float) -> bytes | _InProgress | None:
        """The cached reply, IN_PROGRESS, or None (not a duplicate)."""
        self.expire(now)
        entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def start(self, key: Hashable) -> None:
        """Mark ``key`` as being processed (it never expires while in progress)."""
        self._entries[key] = (IN_PROGRESS, 0.0)

    def finish(self, key: Hashable, reply: bytes, now: float) -> None:
        expires = now + self.window
        self._entries[key] = (reply, expires)
        self._expiry.append((expires, key))
        if len(self._expiry) > self.max_entries:
            self._evict_one()

    def forget(self, key: Hashable) -> None:
        """Processing ended without a reply: the next retransmission is processed anew."""
        self._entries.pop(key, None)

    def expire(self, now: float) -> None:
        expiry = self._expiry
        entries = self._entries
        while expiry and expiry[0][0] <= now:
            expires, key = expiry.popleft()
            entry = entries.get(key)
            if entry is not None and entry[1] == expires:
                del entries[key]

    def _evict_one(self) -> None:
        expires, key = self._expiry.popleft()
        entry = self._entries.get(key)
        if entry is not None and entry[1] == expires:
            del self._entries[key]
