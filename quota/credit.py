"""Credit-control (Diameter Gy) sessions kept in Redis beside the quota state.

jetd keeps each session in memory and writes it here after every request it answers, so
a restarted jetd (or a second one sharing Redis) answers the session's next request
instead of DIAMETER_UNKNOWN_SESSION_ID, which makes the gateway end the subscriber's
session. What a session holds is the caller's (opaque bytes); this keeps and finds it:

- ``jet:gy:<Session-Id>``: the session's state, expiring ``ttl`` seconds after its last
  request (the caller's supervision time: a gateway quiet that long is gone);
- ``jet:{acct:ID}:gy``: the Session-Ids of the account's sessions (for RAR/ASR after a
  restart), pruned when a session ends, when supervision forgets it, and when listed.
"""

from __future__ import annotations

import asyncio

from quota.caller import RedisCaller
from quota.keys import CREDIT_SESSIONS, AccountKeys, credit_session_key
from quota.protocol import text


class CreditSessionOps(RedisCaller):
    async def keep_credit_session(self, account: str, session_id: str, state: bytes, ttl: int, *,
                                  new: bool = False) -> None:
        """Write a session's state (and, when ``new``, index it under its account)."""
        write = self._put("SET", credit_session_key(session_id), state, "EX", max(int(ttl), 1))
        if new:
            await asyncio.gather(write, self._put("SADD", AccountKeys(account).credit_sessions, session_id))
        else:
            await write

    async def credit_session(self, session_id: str) -> bytes | None:
        state: bytes | None = await self._cmd("GET", credit_session_key(session_id))
        return state

    async def credit_sessions(self, account: str) -> dict[str, bytes]:
        """Session-Id -> state of the account's sessions that have not expired."""
        index = AccountKeys(account).credit_sessions
        ids = sorted(text(m) for m in await self._cmd("SMEMBERS", index))
        states = await asyncio.gather(*(self.credit_session(sid) for sid in ids))
        gone = [sid for sid, state in zip(ids, states, strict=True) if state is None]
        if gone:
            await self._cmd("SREM", index, *gone)
        return {sid: state for sid, state in zip(ids, states, strict=True) if state is not None}

    async def all_credit_sessions(self) -> dict[str, bytes]:
        """Session-Id -> state of every session kept, whichever jetd serves it (SCAN over
        ``jet:gy:*``, every primary of a cluster: an operator's listing, not a hot path)."""
        keys = self.client.scan_iter(match=f"{CREDIT_SESSIONS}*", count=1000)
        ids = sorted({text(key)[len(CREDIT_SESSIONS):] async for key in keys})
        states = await asyncio.gather(*(self.credit_session(sid) for sid in ids))
        return {sid: state for sid, state in zip(ids, states, strict=True) if state is not None}

    async def drop_credit_session(self, account: str, session_id: str) -> None:
        await asyncio.gather(self._put("DEL", credit_session_key(session_id)),
                             self._put("SREM", AccountKeys(account).credit_sessions, session_id))
