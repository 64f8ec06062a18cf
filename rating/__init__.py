"""Rating: money, the pricebook (model and loader), calendars, prefix tables and the pure
rating engine. Nothing here does I/O except ``load_catalog`` reading pricebook files;
nothing reads the clock; nothing imports the rest of Jet.
"""

from rating.catalog import Catalog, Realm
from rating.engine import rate
from rating.errors import CurrencyMismatch, InvalidUsage, PricebookError, Problem, RatingError, UnratedUsage
from rating.explain import explain, rating_to_dict
from rating.fees import FeeLine, cycle_period, one_off_fees, period_bounds, recurring_fees
from rating.lines import UsageLine, usage_lines
from rating.loader import load_catalog
from rating.model import (
    Bundle,
    Charge,
    Crossing,
    Exhaustion,
    Meter,
    Plan,
    Rating,
    Tax,
    Terms,
    Threshold,
    Usage,
)
from rating.money import Money, to_ledger
from rating.pricing import billed_seconds, quantities
from rating.split import BundleState, bundle_state, split_usage

__all__ = [
    "Bundle",
    "BundleState",
    "Catalog",
    "Charge",
    "Crossing",
    "CurrencyMismatch",
    "Exhaustion",
    "FeeLine",
    "InvalidUsage",
    "Meter",
    "Money",
    "Plan",
    "PricebookError",
    "Problem",
    "Rating",
    "RatingError",
    "Realm",
    "Tax",
    "Terms",
    "Threshold",
    "UnratedUsage",
    "Usage",
    "UsageLine",
    "billed_seconds",
    "bundle_state",
    "cycle_period",
    "explain",
    "load_catalog",
    "one_off_fees",
    "period_bounds",
    "quantities",
    "rate",
    "rating_to_dict",
    "recurring_fees",
    "split_usage",
    "to_ledger",
    "usage_lines",
]
