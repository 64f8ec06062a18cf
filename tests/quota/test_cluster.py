"""The quota functions on a real Redis Cluster: three masters on loopback, started here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest
from redis import Redis as SyncRedis
from redis.asyncio.cluster import RedisCluster

from quota.connect import connect
from quota.keys import DEFAULT_SHARDS
from quota.model import Bucket, Kind
from quota.store import QuotaStore
from tests.quota.standin import GB, record, s1_rate, s2_rate
from tests.quota.workload import apply_all, sessions_records, share
from tests.servers import redis_cluster

T0 = 1_780_000_000


@pytest.fixture(scope="module")
def cluster_ports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    with redis_cluster(tmp_path_factory.mktemp("cluster")) as ports:
        yield ports


@pytest.fixture(scope="module")
async def cluster_store(cluster_ports: list[int]) -> AsyncIterator[QuotaStore]:
    client = connect(f"redis+cluster://127.0.0.1:{cluster_ports[0]}")
    assert isinstance(client, RedisCluster)
    store = QuotaStore(client)
    await store.load_functions()
    yield store
    await client.aclose()


def _node_keys(port: int, pattern: str) -> list[bytes]:
    with SyncRedis(port=port) as node:
        return list(node.scan_iter(match=pattern, count=1000))


async def test_every_function_runs_and_an_account_stays_in_one_slot(cluster_store: QuotaStore,
                                                                    cluster_ports: list[int]) -> None:
    store, acct = cluster_store, "c1"
    assert await store.put_account(acct, period="2026-06", mode="prepaid")
    assert await store.grant(acct, Bucket("pack", "octets", 10 * GB, thresholds=(80,)))
    assert (await store.topup(acct, "t1", Decimal("100"), T0)).applied
    assert not (await store.topup(acct, "t1", Decimal("100"), T0)).applied
    await store.apply_record(record(acct, "a", Kind.START, T0), s2_rate)
    await store.apply_record(record(acct, "a", Kind.INTERIM, T0 + 60, out=12 * GB), s2_rate)
    await store.apply_record(record(acct, "b", Kind.INTERIM, T0 + 60, out=GB), s1_rate)
    assert [s.key for s in await store.sessions(acct)] == ["bras1/a", "bras1/b"]
    assert len(await store.stale_sessions(T0 + 1000, older_than=600)) >= 2
    r = await store.reserve(acct, "gy/1", "octets", GB, expires=T0 + 100, now=T0)
    assert r.granted == GB
    assert (await store.commit(acct, "gy/1", "octets", GB // 2, now=T0 + 10)).covered == GB // 2
    await store.reserve(acct, "gy/2", "octets", GB, expires=T0 + 100, now=T0)
    assert await store.release(acct, "gy/2") == GB
    await store.reserve(acct, "gy/3", "octets", GB, expires=T0 + 100, now=T0)
    assert await store.sweep(acct, T0 + 200) == ["gy/3"]
    held = await store.hold(acct, "gy;1#10", GB, 2 * GB, expires=T0 + 300, now=T0 + 200, version=None)
    assert held is not None and held.granted == GB
    keys = [k for p in cluster_ports for k in _node_keys(p, "jet:{acct:c1}:*")]
    assert len(keys) >= 9  # meta, counters, buckets, two sessions, charges, open, top-ups, holds
    with SyncRedis(port=cluster_ports[0]) as node:
        assert len({node.execute_command("CLUSTER", "KEYSLOT", key) for key in keys}) == 1
    stop = await store.apply_record(record(acct, "a", Kind.STOP, T0 + 120, out=12 * GB), s2_rate)
    assert stop.handed_off
    assert await store.unhold(acct, ["gy;1#10"]) == 1
    assert len(await store.close_nas("bras1", T0 + 300, s2_rate)) >= 1
    assert await store.redeliver(acct) == 0
    rolled = await store.rollover(acct, "2026-07", T0 + 400)
    assert rolled.rolled and rolled.previous_counters == {"data": 13 * GB}
    snap = await store.read(acct)
    assert snap.balance == Decimal("77") and snap.period == "2026-07"



async def test_stream_shards_spread_over_the_masters(cluster_store: QuotaStore,
                                                     cluster_ports: list[int]) -> None:
    for n in range(40):
        acct = f"spread{n}"
        await cluster_store.put_account(acct, period="2026-06")
        await cluster_store.apply_record(record(acct, "s", Kind.STOP, T0, out=GB), s2_rate)
    per_node = [len(_node_keys(p, "jet:sessions:*")) for p in cluster_ports]
    assert all(count > 0 for count in per_node), per_node
    assert sum(per_node) <= DEFAULT_SHARDS


async def test_s2_concurrent_with_batching_on_the_cluster(cluster_ports: list[int],
                                                          cluster_store: QuotaStore) -> None:
    acct = "c-s2"
    await cluster_store.put_account(acct, period="2026-06")
    records = sessions_records(acct, 5, (20, 25, 20))
    clients = [connect(f"redis+cluster://127.0.0.1:{p}") for p in cluster_ports[:2]]
    try:
        stores = [QuotaStore(c, batch=True) for c in clients]
        for s in stores:
            await s.load_functions()
        await asyncio.gather(*(apply_all(s, share(records, i, 2), s2_rate) for i, s in enumerate(stores)))
    finally:
        for c in clients:
            await c.aclose()
    snap = await cluster_store.read(acct)
    assert snap.charges == Decimal("95.00") and snap.counters == {"data": 65 * GB}


async def test_every_credit_session_is_listed_whichever_master_holds_it(cluster_store: QuotaStore,
                                                                       cluster_ports: list[int]) -> None:
    ids = [f"pgw1;listed;{n}" for n in range(24)]
    for n, sid in enumerate(ids):
        await cluster_store.keep_credit_session(f"l{n}", sid, f"state {n}".encode(), 60, new=True)
    on_masters = [len(_node_keys(port, "jet:gy:pgw1;listed;*")) for port in cluster_ports]
    assert sum(on_masters) == 24 and sum(1 for n in on_masters if n) > 1  # spread over the masters
    listed = await cluster_store.all_credit_sessions()
    assert {sid: listed[sid] for sid in ids} == {sid: f"state {n}".encode() for n, sid in enumerate(ids)}
