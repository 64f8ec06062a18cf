"""Credit-control sessions in Redis: their state round trip, and supervision (``sweep``) that
forgets a quiet session without taking it from another jetd the gateway went on with."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from jetd.diameter.granting import HOLD_GRACE
from jetd.diameter.service import CreditControl
from jetd.diameter.session import GySession
from quota.connect import connect
from quota.store import QuotaStore

VALIDITY = 120
NOW = 1_780_000_000.0


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[QuotaStore]:
    client = connect(redis_url)
    quota = QuotaStore(client)
    await quota.load_functions()
    yield quota
    await client.aclose()


def _session(seen: float, account: str = "") -> GySession:
    return GySession(f"pgw1;{uuid.uuid4().hex};1", account or f"t{uuid.uuid4().hex[:8]}", "6421000001",
                     "default", "pgw1.example.net", "example.net", 1_779_999_000, seen,
                     {10: {"in": 5, "out": 7, "time": 60}, -1: {"in": 1}}, {10}, {10, -1})


def _credit_control(store: QuotaStore) -> CreditControl:
    app: Any = SimpleNamespace(settings=SimpleNamespace(diameter=SimpleNamespace(validity_time=VALIDITY,
                                                                                 rating_groups={})),
                               services={"quota": store})
    return CreditControl(app, node=None)  # type: ignore[arg-type]


def test_state_round_trip() -> None:
    session = _session(NOW)
    assert GySession.from_state(session.session_id, session.state()) == session


async def test_sweep_forgets_quiet_sessions_but_not_one_another_jetd_serves(store: QuotaStore) -> None:
    quiet = NOW - 2 * VALIDITY - HOLD_GRACE - 1
    gone, elsewhere, alive = _session(quiet), _session(quiet), _session(NOW - 5)
    service = _credit_control(store)
    for session in (gone, elsewhere, alive):
        service.sessions[session.session_id] = session
        await store.keep_credit_session(session.account, session.session_id, session.state(), 600, new=True)
    # the gateway moved `elsewhere` to another jetd, which wrote it since
    moved = GySession.from_state(elsewhere.session_id, elsewhere.state())
    moved.seen = NOW - 1
    await store.keep_credit_session(moved.account, moved.session_id, moved.state(), 600)

    assert await service.sweep(NOW) == 2
    assert set(service.sessions) == {alive.session_id}
    assert await store.credit_session(gone.session_id) is None
    assert await store.credit_sessions(gone.account) == {}
    assert await store.credit_session(elsewhere.session_id) == moved.state()
    assert await store.credit_session(alive.session_id) == alive.state()
