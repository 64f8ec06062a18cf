"""The RFC 5080 duplicate cache as a pure table (``now`` passed in)."""

from __future__ import annotations

import pytest

from protocols.radius.dedup import IN_PROGRESS, DuplicateCache


def test_lifecycle() -> None:
    cache = DuplicateCache(window=5.0)
    assert cache.get("k", 0.0) is None
    cache.start("k")
    assert cache.get("k", 100.0) is IN_PROGRESS  # never expires while in progress
    cache.finish("k", b"reply", 100.0)
    assert cache.get("k", 104.9) == b"reply"
    assert cache.get("k", 105.0) is None and len(cache) == 0


def test_forget_and_refinish() -> None:
    cache = DuplicateCache(window=5.0)
    cache.start("a")
    cache.forget("a")
    assert cache.get("a", 0.0) is None
    cache.finish("b", b"1", 0.0)
    cache.finish("b", b"2", 3.0)  # a newer answer keeps the entry until 8.0
    assert cache.get("b", 6.0) == b"2"
    assert cache.get("b", 8.0) is None


def test_bounded() -> None:
    cache = DuplicateCache(window=60.0, max_entries=3)
    for i in range(5):
        cache.finish(i, b"r", float(i))
    assert len(cache) == 3 and cache.get(0, 5.0) is None and cache.get(4, 5.0) == b"r"
    with pytest.raises(ValueError):
        DuplicateCache(window=-1)
