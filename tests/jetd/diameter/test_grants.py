"""What jetd grants a Diameter gateway: rating groups to data classes, blocking bundles."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from jetd.charging import affordable, blocking_allowance, data_price, price_of
from jetd.diameter.grants import (
    DATA,
    TEXTS,
    TIMED,
    class_attributes,
    party_number,
    rating_group_classes,
    seconds_price,
    spending_caps,
    spent,
    used_counters,
    wants_time,
)
from protocols.diameter import ServiceUnits
from rating import Catalog, RatingError, load_catalog

PRICEBOOK = Path(__file__).parents[3] / "config" / "pricebook.example.toml"
AT = datetime(2026, 7, 15, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog([PRICEBOOK])


def test_rating_groups_are_numbers() -> None:
    assert rating_group_classes({"10": "web", "20": "p2p"}) == {10: "web", 20: "p2p"}
    with pytest.raises(ValueError, match="Rating-Group"):
        rating_group_classes({"web": "web"})


def test_class_attributes_pick_the_plans_data_class(catalog: Catalog) -> None:
    plan = catalog.find_plan("default", "Smart Data")
    attrs = class_attributes(plan, AT, "p2p")
    assert plan.terms_at(AT).meters["data"].classes.classify(attrs) == "p2p"
    assert class_attributes(plan, AT, None) == {}
    assert class_attributes(catalog.find_plan("default", "Business Metered"), AT, "web") == {}


def test_blocking_allowance_only_for_bundles_that_block(catalog: Catalog) -> None:
    home = catalog.find_plan("default", "Home 100")  # throttles: never blocks
    assert blocking_allowance(home, {}, AT) is None
    assert blocking_allowance(catalog.find_plan("default", "Business Metered"), {}, AT) is None


CAPPED = """
realm = "default"
currency = "NZD"
timezone = "UTC"

[plans.Capped.data]
unit = "GB"
price = "0.00"

[[plans.Capped.bundles]]
name = "data"
kind = "volume"
size = "2.5 MB"
meters = ["data"]
on_exhausted = "block"
"""


def test_blocking_allowance_is_what_the_bundle_has_left(tmp_path: Path) -> None:
    book = tmp_path / "capped.toml"
    book.write_text(CAPPED)
    plan = load_catalog([book]).find_plan("default", "Capped")
    assert blocking_allowance(plan, {}, AT) == 2_500_000
    assert blocking_allowance(plan, {"bundle:data": Decimal(2_000_000)}, AT) == 500_000
    assert blocking_allowance(plan, {"bundle:data": Decimal(3_000_000)}, AT) == 0


def test_used_counters() -> None:
    units = ServiceUnits(input_octets=5, output_octets=7, time=3)
    assert used_counters(units) == {"in": 5, "out": 7, "time": 3}
    assert used_counters(ServiceUnits(total_octets=9)) == {"in": 9, "out": 0, "time": 0}
    assert used_counters(ServiceUnits()) == {"in": 0, "out": 0, "time": 0}


def test_what_a_prepaid_balance_pays_for(catalog: Catalog) -> None:
    prepaid = catalog.find_plan("default", "Prepaid Data")  # 1.00 a GB
    metered = catalog.find_plan("default", "Business Metered")  # 2.00 a GB to 10 GB, then 1.50
    assert prepaid is not None and metered is not None
    assert price_of(prepaid, AT, {}, {}, 1_000_000) == Decimal("0.001")
    price = data_price(prepaid, AT, {}, {})
    assert affordable(price, Decimal("0.01"), 1_000_000) == (1_000_000, Decimal("0.001"))
    assert affordable(price, Decimal("0.0005"), 1_000_000) == (500_000, Decimal("0.0005"))
    assert affordable(price, Decimal(0), 1_000_000) == (0, 0)
    # the period's bands: the last 1 MB of the first 10 GB costs 2.00 a GB, the next 1.50
    before = {"data": Decimal(10 * 10**9 - 500_000)}
    assert price_of(metered, AT, {}, before, 1_000_000) == Decimal("0.00175")
    paid = affordable(data_price(metered, AT, {}, before), Decimal("0.00175"), 2_000_000)
    assert paid == (1_000_000, Decimal("0.00175"))


def test_what_more_seconds_of_a_call_cost(catalog: Catalog) -> None:
    """Talk Standard (S4): national 0.05 a minute in 60/60 increments; NZ mobile 0.19 a minute in
    30/6. A call is charged when it ends: a grant holds the whole call with its new seconds."""
    talk = catalog.find_plan("default", "Talk Standard")
    assert talk is not None
    national = seconds_price(talk, AT, {}, started=AT, used=0, a_number="6491234567", b_number="6441234567")
    assert [national(s) for s in (0, 1, 60, 61, 150)] == [0, *map(Decimal, ("0.05", "0.05", "0.10", "0.15"))]
    mobile = seconds_price(talk, AT, {}, started=AT, used=0, a_number="6491234567", b_number="6421234567")
    assert affordable(mobile, Decimal("0.20"), 120) == (60, Decimal("0.19"))  # 30 s, then 6 s at a time
    later = seconds_price(talk, AT, {}, started=AT, used=60, a_number="6491234567", b_number="6421234567")
    assert later(6) == Decimal("0.209")  # 66 s: 30 s, then 6 s at a time
    nowhere = seconds_price(talk, AT, {}, started=AT, used=0, a_number="6491234567", b_number="99912345")
    with pytest.raises(RatingError):
        nowhere(60)


def test_party_numbers_and_timed_requests() -> None:
    assert party_number("tel:+64 9 123-4567") == "6491234567"
    assert party_number("sip:+6441234567@ims.example.net;user=phone") == "6441234567"
    assert party_number("sip:alice@example.net") == "alice"
    assert party_number(None) == ""
    assert wants_time(ServiceUnits(time=0)) and not wants_time(ServiceUnits(total_octets=0, time=0))
    assert not wants_time(ServiceUnits()) and not wants_time(None)


def test_a_money_bundle_that_blocks_is_spent_by_the_counters_or_by_what_was_just_applied(tmp_path: Path
                                                                                        ) -> None:
    book = tmp_path / "spend.toml"
    book.write_text(CAPPED.replace('[plans.Capped.data]', '''[plans.Capped.sms]
price = "0.15"

[[plans.Capped.bundles]]
name = "texts"
kind = "money"
size = "1.50"
meters = ["sms"]
on_exhausted = "block"

[plans.Capped.data]'''))
    plan = load_catalog([book]).find_plan("default", "Capped")
    assert plan is not None
    caps = spending_caps(plan, AT)
    assert [b.name for b in caps] == ["texts"]  # the volume bundle is no money bundle
    assert not spent(caps, {"bundle:texts": Decimal("1.35")}, (), TEXTS)
    assert spent(caps, {"bundle:texts": Decimal("1.50")}, (), TEXTS)
    assert spent(caps, {"bundle:texts": Decimal("1.35")}, ("texts",), TEXTS)
    assert not spent(caps, {"bundle:texts": Decimal("1.50")}, ("texts",), DATA)  # it covers texts only
    assert not spent(caps, {"bundle:texts": Decimal("1.50")}, (), TIMED)
