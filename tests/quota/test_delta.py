"""Session deltas: Python's session_delta and the Lua in jet_acct_apply agree on any sequence."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quota.delta import octets64, session_delta
from quota.errors import InvalidValue
from quota.model import AccountingRecord, Kind, Rated, RatingInput, to_micros
from quota.store import QuotaStore

T0 = 1_780_000_000


def test_octets64() -> None:
    assert octets64(300_000_000, 1) == 4_594_967_296
    with pytest.raises(InvalidValue):
        octets64(2**32)


def test_money_is_exact_or_refused() -> None:
    assert to_micros(Decimal("0.1520")) == 152_000
    with pytest.raises(InvalidValue):
        to_micros(Decimal("0.0000001"))
    with pytest.raises(InvalidValue):
        to_micros(0.5)  # type: ignore[arg-type]


def test_reset_versus_late_retransmission() -> None:
    assert session_delta({"out": 10}, {"out": 4}, now=20, last_update=10) == ({"out": 0}, ["out"])
    assert session_delta({"out": 10}, {"out": 4}, now=10, last_update=10) == ({"out": 0}, [])
    assert session_delta({"out": 10}, {"out": 14, "in": 3}) == ({"out": 4, "in": 3}, [])


records = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 2**40), st.integers(0, 2**33)),
                   min_size=1, max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=records)
async def test_lua_and_python_deltas_agree(store: QuotaStore, steps: list[tuple[int, int, int]]) -> None:
    account = f"h{uuid.uuid4().hex[:10]}"
    await store.put_account(account, period="2026-06")
    seen: list[dict[str, int]] = []

    def count(inp: RatingInput) -> Rated:
        seen.append(dict(inp.delta))
        return Rated(increments={"data": inp.delta.get("out", 0)})

    applied = 0
    for dt, out, inbound in steps:
        rec = AccountingRecord(account=account, nas="n", session_id="s", kind=Kind.INTERIM, now=T0 + dt,
                               counters={"out": out, "in": inbound})
        result = await store.apply_record(rec, count)  # raises DeltaMismatch if Lua disagrees
        assert result.delta == seen[-1]
        applied += result.delta["out"]
    assert (await store.read(account)).counters.get("data", 0) == applied
