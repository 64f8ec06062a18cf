"""Duplicate detection for retransmitted requests (RFC 6733 §3, §5.5.4).

RFC 6733 §3: "End-to-End Identifier ... The combination of the Origin-Host AVP ... and this field is
used to detect duplicates. Duplicate requests SHOULD cause the same answer to be transmitted (modulo the
Hop-by-Hop Identifier field and any routing AVPs that may be present), and MUST NOT affect any state
that was set when the original request was processed."

One cache is shared by all connections of a node: a gateway that fails over retransmits (T bit) on
another connection. Entries live `window` seconds; memory is bounded by `max_entries`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

PENDING: Final = b""


class EndToEndIds:
    """End-to-End Identifiers for the requests this node originates, shared by all its connections.

    RFC 6733 §3: "The originator of a request MUST insert a unique value in each request. The
    identifier MUST remain locally unique for a period of at least 4 minutes, even across reboots.
    The high-order 12 bits contain the low-order 12 bits of current time, and the low-order 20
    bits are a random value." The caller (the transport) supplies that seed; this only counts on.
    """

    def __init__(self, seed: int) -> None:
        self._next = seed & 0xFFFFFFFF

    @staticmethod
    def seed_from(unix_time: float, random20: int) -> int:
        return ((int(unix_time) & 0xFFF) << 20) | (random20 & 0xFFFFF)

    def next(self) -> int:
        value = self._next
        self._next = (value + 1) & 0xFFFFFFFF
        return value


class DuplicateCache:
    def __init__(self, window: float = 30.0, max_entries: int = 200_000) -> None:
        if window <= 0 or max_entries <= 0:
            raise ValueError("window and max_entries must be positive")
        self.window = window
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, int], tuple[float, bytes]] = OrderedDict()
        self.hits = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _expire(self, now: float) -> None:
        entries = self._entries
        limit = now - self.window
        while entries:
            born = next(iter(entries.values()))[0]
            if born > limit and len(entries) <= self.max_entries:
                break
            entries.popitem(last=False)

    def lookup(self, origin_host: str, end_to_end: int, now: float) -> bytes | None:
        """The cached encoded answer, PENDING (b"") if the original is still being processed, or None."""
        self._expire(now)
        hit = self._entries.get((origin_host, end_to_end))
        if hit is None:
            return None
        self.hits += 1
        return hit[1]

    def begin(self, origin_host: str, end_to_end: int, now: float) -> None:
        self._entries[(origin_host, end_to_end)] = (now, PENDING)

    def store(self, origin_host: str, end_to_end: int, answer: bytes, now: float) -> None:
        key = (origin_host, end_to_end)
        born = self._entries.get(key, (now, PENDING))[0]
        self._entries[key] = (born, answer)

    def forget(self, origin_host: str, end_to_end: int) -> None:
        self._entries.pop((origin_host, end_to_end), None)
