"""Which throttles are in force at a period's counters, and how a CoA undoes one."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from jetd.radius.lift import restoring, throttled_by_bundles
from rating import load_catalog

AT = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
GB = 10**9
BOOK = """
realm = "default"
currency = "NZD"
timezone = "UTC"

[plans."Fair Use"]
reply = { "Mikrotik-Rate-Limit" = "50M/50M" }
[plans."Fair Use".data]
unit = "GB"
price = "0.00"
[[plans."Fair Use".bundles]]
name = "data"
kind = "volume"
size = "100 GB"
on_exhausted = "throttle"
reply = { "Mikrotik-Rate-Limit" = "1M/1M", "Filter-Id" = "slow" }
thresholds = [{ percent = 90, action = "throttle", reply = { "Mikrotik-Rate-Limit" = "10M/10M" } }]
"""


def test_the_throttles_in_force_at_a_periods_counters(tmp_path: Path) -> None:
    book = tmp_path / "book.toml"
    book.write_text(BOOK)
    plan = load_catalog([book]).find_plan("default", "Fair Use")
    assert plan is not None
    assert throttled_by_bundles(plan, AT, {"bundle:data": Decimal(89 * GB)}) == set()
    assert throttled_by_bundles(plan, AT, {"bundle:data": Decimal(90 * GB)}) == {"Mikrotik-Rate-Limit"}
    assert throttled_by_bundles(plan, AT, {"bundle:data": Decimal(100 * GB)}) == \
        {"Mikrotik-Rate-Limit", "Filter-Id"}


def test_a_throttle_is_undone_by_the_values_in_force_or_by_a_new_login() -> None:
    assert restoring({"Mikrotik-Rate-Limit": "50M/50M", "Class": "x"}, {"Mikrotik-Rate-Limit"}) == \
        {"Mikrotik-Rate-Limit": "50M/50M"}
    # the throttle added a Filter-Id the plan does not set: no CoA can take it away
    assert restoring({"Mikrotik-Rate-Limit": "50M/50M"}, {"Mikrotik-Rate-Limit", "Filter-Id"}) is None
