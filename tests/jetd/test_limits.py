"""What a login may use: blocking bundles and a prepaid balance as Session-Timeout and a volume
limit (less what Diameter grants hold), and how a NAS of each vendor is told the volume."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from jetd.radius.limits import Login, held_pools, login_terms
from jetd.radius.replies import volume_attributes
from protocols.radius.dictionary import load_dictionary
from quota.model import Held
from rating import Catalog, load_catalog

AT = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
GB = 10**9
DICT = load_dictionary()
BOOK = """
realm = "default"
currency = "NZD"
timezone = "UTC"

[plans."Capped 10"]
[plans."Capped 10".data]
unit = "GB"
price = "0.00"
count = "out"
[[plans."Capped 10".bundles]]
name = "data"
kind = "volume"
size = "10 GB"
meters = ["data"]
on_exhausted = "block"

[plans."Hours"]
[plans."Hours".time]
unit = "h"
price = "1.00"
[[plans."Hours".bundles]]
name = "hours"
kind = "time"
size = "2 h"
meters = ["time"]
on_exhausted = "block"

[plans."Hours Then Paid"]
[plans."Hours Then Paid".time]
unit = "h"
price = "1.00"
[[plans."Hours Then Paid".bundles]]
name = "hours"
kind = "time"
size = "2 h"
meters = ["time"]

[plans."Prepaid Data"]
prepaid = true
[plans."Prepaid Data".data]
unit = "GB"
price = "1.00"

[plans."Prepaid Classes"]
prepaid = true
[plans."Prepaid Classes".data]
unit = "GB"
classes = { attribute = "Jet-Traffic-Class", default = "web", values = { web = ["web"], p2p = ["p2p"] } }
[[plans."Prepaid Classes".data.rates]]
class = "p2p"
price = "2.00"

[plans."Data Spend"]
[plans."Data Spend".data]
unit = "GB"
price = "2.00"
[[plans."Data Spend".bundles]]
name = "spend"
kind = "money"
size = "10.00"
meters = ["data"]
on_exhausted = "block"

[plans."Prepaid Slow"]
[plans."Prepaid Slow".prepaid]
on_exhausted = "throttle"
reply = { "Mikrotik-Rate-Limit" = "256k/256k" }
[plans."Prepaid Slow".data]
unit = "GB"
price = "1.00"
"""


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    book = tmp_path_factory.mktemp("limits") / "book.toml"
    book.write_text(BOOK)
    return load_catalog([book])


def _terms(catalog: Catalog, plan: str, counters: dict[str, int | Decimal] | None = None, balance: str = "0",
           held: Held = Held(0, 0, Decimal(0))) -> Login:
    found = catalog.find_plan("default", plan)
    assert found is not None
    period = {k: Decimal(v) for k, v in (counters or {}).items()}
    return login_terms(found, AT, period, Decimal(balance), held)


def test_a_blocking_data_bundle_limits_the_volume_less_what_diameter_holds(catalog: Catalog) -> None:
    used = {"bundle:data": 4 * GB}
    assert _terms(catalog, "Capped 10", used) == Login({}, octets=6 * GB, direction="out")
    assert _terms(catalog, "Capped 10", used, held=Held(GB, 0, Decimal(0))).octets == 5 * GB
    for counters, held in (({"bundle:data": 10 * GB}, 0), ({"bundle:data": 9 * GB}, GB)):
        assert _terms(catalog, "Capped 10", counters, held=Held(held, 0, Decimal(0))).refused == \
            ("quota_exhausted", "The data allowance is used up")


def test_a_blocking_time_bundle_is_the_session_timeout_one_that_charges_sets_none(catalog: Catalog) -> None:
    half_hour = {"bundle:hours": 1800}
    assert _terms(catalog, "Hours", half_hour, held=Held(0, 600, Decimal(0))).session_timeout == 4800
    assert _terms(catalog, "Hours", {"bundle:hours": 7200}).refused == \
        ("quota_exhausted", "The hours allowance is used up")
    # past its 2 h the use is charged, not stopped: nothing to end the session for
    assert _terms(catalog, "Hours Then Paid", half_hour) == Login({})
    assert _terms(catalog, "Hours Then Paid", {"bundle:hours": 7200}) == Login({})


def test_a_prepaid_balance_limits_the_volume_to_what_it_pays_for(catalog: Catalog) -> None:
    assert _terms(catalog, "Prepaid Data", balance="2.00").octets == 2 * GB
    assert _terms(catalog, "Prepaid Data", balance="2.00", held=Held(0, 0, Decimal("1.50"))).octets == GB // 2
    assert _terms(catalog, "Prepaid Data", balance="0.000001").octets == 1000
    assert _terms(catalog, "Prepaid Data", balance="2000").octets is None  # past 1 TiB: no limit
    for balance, held in (("0", "0"), ("-0.40", "0"), ("1.00", "1.00")):
        assert _terms(catalog, "Prepaid Data", balance=balance, held=Held(0, 0, Decimal(held))).refused == \
            ("balance_exhausted", "Prepaid balance used up")
    # what the plan prices only by the record's class (none at login) sets no limit, refuses nothing
    assert _terms(catalog, "Prepaid Classes", balance="2.00") == Login({})
    # a throttling balance: no limit above zero, the slow reply at zero
    assert _terms(catalog, "Prepaid Slow", balance="2.00") == Login({})
    assert _terms(catalog, "Prepaid Slow") == Login({"Mikrotik-Rate-Limit": "256k/256k"})


def test_a_money_bundle_that_blocks_limits_the_volume_to_what_it_has_left_pays_for(catalog: Catalog) -> None:
    """10.00 of data a month at 2.00 a GB, then barred: what is left, less what Diameter grants
    hold of it, at the plan's price."""
    assert _terms(catalog, "Data Spend").octets == 5 * GB
    assert _terms(catalog, "Data Spend", {"bundle:spend": 9}).octets == GB // 2
    # less than a whole 1.00 left still pays for something
    assert _terms(catalog, "Data Spend", {"bundle:spend": Decimal("9.50")}).octets == GB // 4
    assert _terms(catalog, "Data Spend", {"bundle:spend": 9},
                  held=Held(0, 0, Decimal(0), spend=Decimal("0.50"))).octets == GB // 4
    for counters, spend in (({"bundle:spend": 10}, "0"), ({"bundle:spend": 9}, "1.00")):
        assert _terms(catalog, "Data Spend", counters, held=Held(0, 0, Decimal(0), spend=Decimal(spend))
                      ).refused == ("quota_exhausted", "The spend allowance is used up")


def test_only_the_holds_a_plan_limits_by_are_read(catalog: Catalog) -> None:
    def pools(plan: str, balance: str) -> tuple[str, ...]:
        found = catalog.find_plan("default", plan)
        assert found is not None
        return held_pools(found, AT, Decimal(balance))

    assert (pools("Capped 10", "0"), pools("Hours", "0"), pools("Hours Then Paid", "0")) == \
        (("octets",), ("seconds",), ())
    assert (pools("Prepaid Data", "1"), pools("Prepaid Data", "0")) == (("money",), ())
    assert pools("Data Spend", "0") == ("spend",)


def _shown(attrs: list[tuple[int, bytes]]) -> dict[str, object]:
    return {str(name): value for name, _, value in (DICT.decode_attr(key, raw) for key, raw in attrs)}


def test_the_volume_reaches_each_vendor_in_its_own_attributes() -> None:
    five_gb = 5 * GB  # 1 Gigaword (2^32) and 705,032,704
    assert _shown(volume_attributes(DICT, "mikrotik", "both", five_gb)) == \
        {"Mikrotik-Total-Limit": 705_032_704, "Mikrotik-Total-Limit-Gigawords": 1}
    assert _shown(volume_attributes(DICT, "MikroTik", "in", GB)) == {"Mikrotik-Recv-Limit": GB}
    assert _shown(volume_attributes(DICT, "chillispot", "out", five_gb)) == \
        {"ChilliSpot-Max-Output-Octets": 705_032_704, "ChilliSpot-Max-Output-Gigawords": 1}
    # no Gigawords attribute: at most 4 GiB a session
    assert _shown(volume_attributes(DICT, "pfsense", "both", five_gb)) == \
        {"pfSense-Max-Total-Octets": 2**32 - 1}
    # a low word of 0 could read as "no limit": one octet less
    assert _shown(volume_attributes(DICT, "mikrotik", "both", 2**33)) == \
        {"Mikrotik-Total-Limit": 2**32 - 1, "Mikrotik-Total-Limit-Gigawords": 1}
    # no attributes for the vendor or the direction, or the plan names the attribute itself
    assert volume_attributes(DICT, "generic", "both", GB) == []
    assert volume_attributes(DICT, "pfsense", "out", GB) == []
    assert volume_attributes(DICT, "mikrotik", "both", GB, named={"Mikrotik-Total-Limit": "1"}) == []
