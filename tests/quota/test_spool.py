"""The local spool: durable append, ordered idempotent replay, torn-tail tolerance."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from quota.connect import connect
from quota.delta import octets64
from quota.errors import QuotaUnavailable, SpoolError
from quota.model import AccountingRecord, ApplyResult, Kind
from quota.spool import Spool
from quota.store import QuotaStore
from tests import servers
from tests.quota.standin import record, s2_rate

T0 = 1_780_000_000


def s9(account: str) -> list[AccountingRecord]:
    return [record(account, "s9", Kind.START, T0),
            record(account, "s9", Kind.INTERIM, T0 + 300, out=octets64(4_000_000_000)),
            record(account, "s9", Kind.INTERIM, T0 + 600, out=octets64(300_000_000, 1)),
            record(account, "s9", Kind.INTERIM, T0 + 600, out=octets64(300_000_000, 1)),
            record(account, "s9", Kind.STOP, T0 + 650, out=octets64(300_000_000, 1))]


async def test_redis_down_spool_then_replay_exactly_once(tmp_path: Path, store: QuotaStore,
                                                         account: str) -> None:
    await store.put_account(account, period="2026-06")
    dead = QuotaStore(connect(f"redis://127.0.0.1:{servers.free_port()}/0", socket_connect_timeout=0.2))
    spool = Spool(tmp_path / "acct-0.spool")
    for rec in s9(account):
        with pytest.raises(QuotaUnavailable):
            await dead.apply_record(rec, s2_rate)
        await spool.append_async(rec)  # durable: now the NAS may be answered
    await dead.client.aclose()
    assert len(spool) == 5

    applied: list[ApplyResult] = []

    async def apply(rec: AccountingRecord) -> None:
        applied.append(await store.apply_record(rec, s2_rate))

    report = await spool.replay(apply)
    assert (report.replayed, report.remaining, spool.empty) == (5, False, True)
    assert sum(r.delta.get("out", 0) for r in applied) == 4_594_967_296
    # replaying the same records again (a crash before the spool was truncated) charges nothing
    for rec in s9(account):
        spool.append(rec)
    assert (await spool.replay(apply)).replayed == 5
    assert sum(r.delta.get("out", 0) for r in applied) == 4_594_967_296
    snap = await store.read(account)
    assert snap.counters == {"data": 4_594_967_296}
    spool.close()


async def test_replay_stops_when_redis_goes_away_and_resumes(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.spool")
    records = [record("a", f"s{n}", Kind.INTERIM, T0 + n, out=n) for n in range(6)]
    for rec in records:
        spool.append(rec)
    seen: list[str] = []

    async def flaky(rec: AccountingRecord) -> None:
        if len(seen) == 3:
            raise QuotaUnavailable("down again")
        seen.append(rec.session_id)

    report = await spool.replay(flaky)
    assert (report.replayed, report.remaining) == (3, True)
    with Spool(tmp_path / "s.spool") as other:
        assert [r.session_id for r in other.records()] == ["s3", "s4", "s5"]

    async def ok(rec: AccountingRecord) -> None:
        seen.append(rec.session_id)

    assert (await spool.replay(ok)).replayed == 3
    assert seen == [f"s{n}" for n in range(6)] and spool.empty
    assert (tmp_path / "s.spool").stat().st_size == 0
    spool.close()


@pytest.mark.parametrize("cut", [1, 5, 9, 30])
def test_torn_last_record_is_dropped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                     cut: int) -> None:
    path = tmp_path / "t.spool"
    spool = Spool(path)
    for n in range(3):
        spool.append(record("a", f"s{n}", Kind.INTERIM, T0, out=n))
    spool.close()
    size = path.stat().st_size
    os.truncate(path, size - cut)
    with caplog.at_level(logging.WARNING, logger="quota.spool"):
        again = Spool(path)
    assert "torn" in caplog.text
    assert [r.session_id for r in again.records()] == ["s0", "s1"]
    again.append(record("a", "s3", Kind.INTERIM, T0, out=3))
    again.close()
    with Spool(path) as reopened:
        assert [r.session_id for r in reopened.records()] == ["s0", "s1", "s3"]


def test_garbled_last_record_is_torn_but_garbled_middle_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "g.spool"
    spool = Spool(path)
    for n in range(3):
        spool.append(record("a", f"s{n}", Kind.INTERIM, T0, out=n))
    spool.close()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with Spool(path) as reopened:
        assert [r.session_id for r in reopened.records()] == ["s0", "s1"]
    data = bytearray(path.read_bytes())
    data[12] ^= 0xFF  # inside the first frame's payload
    path.write_bytes(bytes(data))
    with pytest.raises(SpoolError, match="corrupt"):
        Spool(path)
