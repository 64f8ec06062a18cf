"""Prepaid plans on the invoice: usage the balance paid as it was rated is listed, and paid."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D
from pathlib import Path

from invoicing.billing import BillingInput, Subscribed, bill
from invoicing.model import Tax
from rating import Charge, load_catalog
from tests.invoicing import factories as f

PRICEBOOK = Path(__file__).parents[2] / "config" / "pricebook.example.toml"


def _data(day: int, gigabytes: str, price: str = "1.00") -> Charge:
    units = D(gigabytes)
    at = datetime(2026, 6, day, 1, tzinfo=UTC)
    return Charge("data", "usage", units * 10**9, units * 10**9, units, "GB", D(price), units * D(price),
                  "NZD", at, at)


def _input(subscriptions: tuple[Subscribed, ...], *charges: Charge) -> BillingInput:
    return BillingInput(account_id=1, realm="default", currency="NZD",
                        period=(date(2026, 7, 1), date(2026, 8, 1)), issue_date=date(2026, 7, 1),
                        due_date=date(2026, 7, 15), seller=f.seller(), buyer=f.buyer(),
                        subscriptions=subscriptions, charges=tuple(enumerate(charges, start=1)),
                        tax=Tax("GST", D("0.15")))


def test_prepaid_usage_is_listed_and_paid_postpaid_usage_is_due() -> None:
    catalog = load_catalog([PRICEBOOK])
    prepaid = catalog.find_plan("default", "Prepaid Data")
    metered = catalog.find_plan("default", "Business Metered")
    assert prepaid is not None and metered is not None

    only_prepaid = bill(_input((Subscribed(prepaid, date(2026, 6, 1), None),),
                               _data(5, "1.2"), _data(9, "2.335")))
    assert only_prepaid is not None and only_prepaid.charge_ids == (1, 2)  # consumed: not billed again
    assert [(line.description, line.amount) for line in only_prepaid.lines] == [
        ("Data", D("3.535")), ("Paid from your prepaid balance", D("-3.54"))]
    totals = only_prepaid.invoice("INV-1").totals
    assert (totals.subtotal, totals.tax, totals.total) == (D("0.00"), D("0.00"), D("0.00"))

    # Postpaid until the 8th, prepaid from then: only the usage before is due.
    switched = bill(_input((Subscribed(metered, date(2026, 5, 1), date(2026, 6, 8)),
                            Subscribed(prepaid, date(2026, 6, 8), None)),
                           _data(5, "1.2", "2.00"), _data(9, "2")))
    assert switched is not None
    assert [(line.description, line.amount) for line in switched.lines] == [
        ("Data", D("2.400")), ("Data", D("2.00")), ("Paid from your prepaid balance", D("-2.00"))]
    totals = switched.invoice("INV-2").totals
    assert (totals.subtotal, totals.tax, totals.total) == (D("2.40"), D("0.36"), D("2.76"))
