"""Open sessions: per account, per NAS (Accounting-On/Off), and the reaper's query."""

from __future__ import annotations

from quota.caller import RedisCaller
from quota.keys import SEP, AccountKeys, nas_index, reaper_index
from quota.model import AccountingRecord, ApplyResult, Kind, OpenSession, RateFn, Snapshot
from quota.protocol import flat_map, text


class SessionOps(RedisCaller):
    shards: int

    async def read(self, account: str, session_key: str = "") -> Snapshot:
        raise NotImplementedError

    async def apply_record(self, record: AccountingRecord, rate_fn: RateFn, *, period: str | None = None,
                           period_start: int | None = None) -> ApplyResult:
        raise NotImplementedError

    async def sessions(self, account: str, *, updated_before: int | None = None) -> list[OpenSession]:
        """Open sessions of an account (only those last updated at or before ``updated_before``)."""
        k = AccountKeys(account)
        flat = await self._fcall("jet_sess_list", [k.open],
                                 ["+inf" if updated_before is None else updated_before], ro=True)
        return [OpenSession(account, key, int(float(ts))) for key, ts in flat_map(flat).items()]

    async def nas_sessions(self, nas: str) -> list[tuple[str, str]]:
        """(account, session key) of sessions opened on a NAS (index is best effort: check before use)."""
        members = await self._cmd("SMEMBERS", nas_index(nas))
        return sorted(tuple(text(m).split(SEP, 1)) for m in members)  # type: ignore[misc]

    async def close_session(self, account: str, session_key: str, now: int, rate_fn: RateFn,
                            cause: str = "Lost-Service") -> ApplyResult:
        """Close a session with its last applied counters (reaper, Accounting-On/Off)."""
        snap = await self.read(account, session_key)
        if snap.session is None:
            return ApplyResult(version=snap.version, delta={}, closed=True)
        info = snap.session.info
        nas, _, asid = session_key.partition("/")
        record = AccountingRecord(account=account, nas=info.get("nas") or nas,
                                  session_id=info.get("asid") or asid, kind=Kind.STOP, now=now,
                                  counters=dict(snap.session.last),
                                  realm=info.get("realm", ""), user=info.get("user", ""), cause=cause)
        return await self.apply_record(record, rate_fn)

    async def close_nas(self, nas: str, now: int, rate_fn: RateFn, cause: str = "NAS-Reboot"
                        ) -> list[ApplyResult]:
        """Accounting-On/Off: close every open session of the NAS."""
        results = []
        for account, key in await self.nas_sessions(nas):
            results.append(await self.close_session(account, key, now, rate_fn, cause))
            await self._cmd("SREM", nas_index(nas), f"{account}{SEP}{key}")
        return results

    async def stale_sessions(self, now: int, older_than: int) -> list[OpenSession]:
        """Open sessions whose last update is older than ``now - older_than`` (for the reaper).

        The per-shard reaper index holds each session's update time as of its last check;
        candidates are verified against the account, refreshed if alive, dropped if gone."""
        return await self._indexed(now - older_than)

    async def open_sessions(self) -> list[OpenSession]:
        """Every open session in the reaper index, whatever its times say (a NAS clock
        ahead of ours gives update times in the future)."""
        return await self._indexed(None)

    async def _indexed(self, cutoff: int | None) -> list[OpenSession]:
        stale: list[OpenSession] = []
        for shard in range(self.shards):
            index = reaper_index(shard)
            members = await self._cmd("ZRANGEBYSCORE", index, "-inf", "+inf" if cutoff is None else cutoff)
            by_account: dict[str, list[str]] = {}
            for m in members:
                account, key = text(m).split(SEP, 1)
                by_account.setdefault(account, []).append(key)
            for account, keys in by_account.items():
                open_now = {s.key: s for s in await self.sessions(account)}
                for key in keys:
                    member = f"{account}{SEP}{key}"
                    s = open_now.get(key)
                    if s is None:  # stopped since: drop it from both indexes
                        await self._cmd("ZREM", index, member)
                        await self._cmd("SREM", nas_index(key.split("/", 1)[0]), member)
                    elif cutoff is None or s.updated <= cutoff:
                        stale.append(s)
                    else:
                        await self._cmd("ZADD", index, s.updated, member)
        return stale
