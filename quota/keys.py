"""Redis key names. Every key of one account shares the hash tag ``{acct:ID}``.

See docs/quota.md for what each key holds.
"""

from __future__ import annotations

import zlib

from quota.errors import InvalidValue

DEFAULT_SHARDS = 16


_FORBIDDEN = frozenset("{}\n\x00")


def _check(name: str, value: str) -> str:
    if not value or not _FORBIDDEN.isdisjoint(value):
        raise InvalidValue(f"{name} {value!r} is empty or contains braces, NUL or a newline")
    return value


class AccountKeys:
    """The keys of one account, all in slot ``{acct:ID}``."""

    __slots__ = ("account", "buckets", "closed", "counters", "credit_sessions", "done", "fired", "holds",
                 "meta", "money_holds", "open", "prefix", "reservation_expiry", "reservations", "spend_holds",
                 "time_holds", "topups")

    def __init__(self, account: str) -> None:
        self.account = _check("account id", account)
        p = self.prefix = f"jet:{{acct:{account}}}"
        self.meta = f"{p}:meta"
        self.counters = f"{p}:ctr"
        self.buckets = f"{p}:bkt"
        self.fired = f"{p}:fired"
        self.open = f"{p}:open"
        self.closed = f"{p}:closed"
        self.done = f"{p}:done"
        self.topups = f"{p}:topups"
        self.reservations = f"{p}:rsv"
        self.reservation_expiry = f"{p}:rsvexp"
        self.holds = f"{p}:hold"  # Diameter grants held against the period counters
        self.money_holds = f"{p}:mhold"  # and what prepaid grants cost, held against the balance
        self.time_holds = f"{p}:thold"  # and seconds granted, held against the time bundles
        self.spend_holds = f"{p}:shold"  # and what grants cost, held against the blocking money bundles
        self.credit_sessions = f"{p}:gy"  # Session-Ids of the account's Diameter sessions

    def session(self, key: str) -> str:
        return f"{self.prefix}:s:{key}"

    def session_charges(self, key: str) -> str:
        return f"{self.prefix}:sc:{key}"

    def done_session(self, key: str) -> str:
        return f"{self.prefix}:d:{key}"

    def done_charges(self, key: str) -> str:
        return f"{self.prefix}:dc:{key}"


def meta_key(account: str) -> str:
    """``jet:{acct:ID}:meta``: the one declared key of the hot-path functions."""
    return f"jet:{{acct:{_check('account id', account)}}}:meta"


CREDIT_SESSIONS = "jet:gy:"


def credit_session_key(session_id: str) -> str:
    """``jet:gy:<Session-Id>``: one Diameter credit-control session's state (quota.credit)."""
    if not session_id:
        raise InvalidValue("an empty Session-Id")
    return f"{CREDIT_SESSIONS}{session_id}"


def shard_of(account: str, shards: int = DEFAULT_SHARDS) -> int:
    """Stable shard of an account (CRC-32 of its id), for streams and indexes."""
    return zlib.crc32(account.encode()) % shards


def session_stream(shard: int) -> str:
    """The completed-session stream of one shard; the shard is the hash tag."""
    return f"jet:sessions:{{{shard}}}"


def nas_index(nas: str) -> str:
    """Set of ``account<US>session`` open on one NAS (best effort, see docs)."""
    return f"jet:nas:{{{_check('nas', nas)}}}"


def reaper_index(shard: int) -> str:
    """Sorted set ``account<US>session`` -> last indexed update, per shard (lazy, see docs)."""
    return f"jet:reap:{{{shard}}}"


SEP = "\x1f"
