"""Session open/close, NAS Accounting-On/Off, the reaper query, hand-off redelivery, the library."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from redis.asyncio import Redis

from quota.connect import connect
from quota.errors import AccountNotFound, LibraryVersionError
from quota.functions import library_code, library_version
from quota.handoff import decode_completed
from quota.keys import AccountKeys, session_stream, shard_of
from quota.model import Kind, RatingInput
from quota.store import QuotaStore
from tests import servers
from tests.quota.standin import GB, record, s2_rate

T0 = 1_780_000_000


async def test_start_interim_stop_and_stream_record(store: QuotaStore, account: str) -> None:
    await store.put_account(account, period="2026-06")
    start = await store.apply_record(record(account, "a1", Kind.START, T0), s2_rate)
    assert start.opened and start.delta == {}
    assert [s.key for s in await store.sessions(account)] == ["bras1/a1"]
    assert ("bras1/a1" in [k for a, k in await store.nas_sessions("bras1") if a == account])
    await store.apply_record(record(account, "a1", Kind.INTERIM, T0 + 60, out=12 * GB, time=60), s2_rate)
    stop = record(account, "a1", Kind.STOP, T0 + 90, out=15 * GB, time=90)
    result = await store.apply_record(replace(stop, cause="User-Request"), s2_rate)
    assert result.handed_off and result.completed is not None
    assert await store.sessions(account) == []
    assert await store.pending_handoffs(account) == []
    entries = [f for _, f in await store.client.xrange(session_stream(shard_of(account)))
               if f[b"acct"] == account.encode()]
    assert len(entries) == 1 and entries[0][b"v"] == b"1" and entries[0][b"sid"] == b"bras1/a1"
    session = decode_completed(entries[0][b"d"])
    assert (session.session_id, session.nas, session.realm, session.cause) == ("a1", "bras1", "example",
                                                                                "User-Request")
    assert (session.start, session.stop, session.totals) == (T0, T0 + 90, {"out": 15 * GB, "time": 90})
    assert [c["amount"] for c in session.charges] == ["23.000000", "4.500000"]
    assert session.charges[0]["detail"] == {"what": "data", "octets": 12 * GB, "from": 0}
    assert sum(Decimal(c["amount"]) for c in session.charges) == Decimal("27.5")


async def test_handoff_redelivered_after_a_crash(store: QuotaStore, account: str) -> None:
    await store.put_account(account, period="2026-06")
    k = AccountKeys(account)
    rec = record(account, "x", Kind.STOP, T0 + 5, out=GB)
    # simulate a jetd that died after the Stop's apply, before XADD: apply without the hand-off
    snap = await store.read(account, rec.session_key)
    rated = s2_rate(RatingInput(record=rec, snapshot=snap, delta={"out": GB}))
    applied = await store.apply(rec, snap, rated, {"out": GB})
    assert applied is not None and applied.completed is not None
    assert await store.pending_handoffs(account) == ["bras1/x"]
    assert await store.client.exists(k.done_session("bras1/x"))
    assert await store.redeliver(account) == 1
    assert await store.pending_handoffs(account) == []
    assert not await store.client.exists(k.done_session("bras1/x"), k.done_charges("bras1/x"))


async def test_accounting_on_closes_every_session_of_the_nas(store: QuotaStore, account: str) -> None:
    nas = f"nas-{account}"
    await store.put_account(account, period="2026-06")
    for n in range(3):
        await store.apply_record(record(account, f"s{n}", Kind.INTERIM, T0 + n, nas=nas, out=GB), s2_rate)
    await store.apply_record(record(account, "other", Kind.START, T0, nas="elsewhere"), s2_rate)
    closed = await store.close_nas(nas, T0 + 100, s2_rate)
    assert len(closed) == 3 and all(r.completed and r.completed.cause == "NAS-Reboot" for r in closed)
    assert all(r.delta == {"out": 0} for r in closed)  # closed with their last counters: nothing more
    assert [s.key for s in await store.sessions(account)] == ["elsewhere/other"]
    assert await store.nas_sessions(nas) == []
    assert (await store.read(account)).charges == Decimal("6.00")


async def test_reaper_finds_sessions_without_updates(store: QuotaStore, account: str) -> None:
    await store.put_account(account, period="2026-06")
    await store.apply_record(record(account, "quiet", Kind.INTERIM, T0, out=GB), s2_rate)
    await store.apply_record(record(account, "busy", Kind.INTERIM, T0, out=GB), s2_rate)
    await store.apply_record(record(account, "busy", Kind.INTERIM, T0 + 500, out=2 * GB), s2_rate)
    stale = [s for s in await store.stale_sessions(T0 + 900, older_than=600) if s.account == account]
    assert [(s.key, s.updated) for s in stale] == [("bras1/quiet", T0)]
    result = await store.close_session(account, "bras1/quiet", T0 + 900, s2_rate)
    assert result.completed is not None and result.delta == {"out": 0}
    assert [s for s in await store.stale_sessions(T0 + 900, older_than=600) if s.account == account] == []
    assert [s.key for s in await store.sessions(account, updated_before=T0 + 600)] == ["bras1/busy"]


async def test_open_sessions_lists_every_session_whatever_its_times(store: QuotaStore, account: str) -> None:
    await store.put_account(account, period="2026-06")
    ahead = record(account, "ahead", Kind.INTERIM, T0 + 3600, out=GB)  # the NAS clock is an hour ahead
    await store.apply_record(ahead, s2_rate)
    await store.apply_record(record(account, "now", Kind.INTERIM, T0, out=GB), s2_rate)
    assert [s for s in await store.stale_sessions(T0, older_than=0) if s.account == account and
            s.key == "bras1/ahead"] == []
    listed = sorted(s.key for s in await store.open_sessions() if s.account == account)
    assert listed == ["bras1/ahead", "bras1/now"]


async def test_the_reaper_goes_by_when_jet_received_records(store: QuotaStore, account: str) -> None:
    """A NAS whose clock is an hour behind is not reaped for it; one whose interims stopped
    arriving is, whatever its timestamps said; a replayed (older) record never moves a
    session back towards the reaper."""
    await store.put_account(account, period="2026-06")
    behind = replace(record(account, "behind", Kind.INTERIM, T0 - 3600, out=GB), seen=T0)
    silent = replace(record(account, "silent", Kind.INTERIM, T0 + 3600, out=GB), seen=T0 - 1000)
    for r in (behind, silent):
        await store.apply_record(r, s2_rate)
    stale = [s.key for s in await store.stale_sessions(T0 + 100, older_than=600) if s.account == account]
    assert stale == ["bras1/silent"]
    late = replace(record(account, "behind", Kind.INTERIM, T0 - 3500, out=2 * GB), seen=T0 - 5000)
    await store.apply_record(late, s2_rate)  # e.g. replayed from the spool
    assert [s.key for s in await store.stale_sessions(T0 + 100, older_than=600)
            if s.account == account] == ["bras1/silent"]


async def test_unknown_account(store: QuotaStore) -> None:
    with pytest.raises(AccountNotFound):
        await store.apply_record(record("nobody", "s", Kind.START, T0), s2_rate)
    with pytest.raises(AccountNotFound):
        await store.topup("nobody", "t", Decimal(1), T0)


async def test_newer_library_is_refused(tmp_path: Path) -> None:
    with servers.redis_server(tmp_path) as (host, port, _):
        client = connect(f"redis://{host}:{port}/0")
        assert isinstance(client, Redis)
        try:
            store = QuotaStore(client)
            assert await store.load_functions() == library_version()
            assert await store.load_functions() == library_version()  # REPLACE is fine
            newer = library_code().replace(f"LIB_VERSION = {library_version()}", "LIB_VERSION = 999")
            await client.function_load(newer, replace=True)
            with pytest.raises(LibraryVersionError, match="999"):
                await store.load_functions()
        finally:
            await client.aclose()
