"""Rating: money, the pricebook (model and loader), calendars, prefix tables and the pure
rating engine. Nothing here does I/O except ``load_catalog`` reading pricebook files;
nothing reads the clock; nothing imports the rest of Jet.

For the quota layer (per accounting interim)::

    catalog = load_catalog(paths)                  # PricebookError(problems) if anything is wrong
    plan = catalog.find_plan(realm, name)          # realm's namespace, then "default"
    usage = Usage("data", start, end, octets_in=…, octets_out=…, attributes={…})
    result = rate(usage, plan, period_before)      # period_before: {counter key: Decimal}
    result.charges        # tuple[Charge]: amount (unrounded; voice 4 dp), bundled, due, explanation
    result.counters       # {key: Decimal} to add to the period counters atomically
    result.crossings      # thresholds crossed now (bundle, percent, action, reply)
    result.exhausted      # bundles used up (action charge|throttle|block, reply, now)
    result.reply          # reply attributes now in force (throttled)
    bundle_state(plan, counters, at)   # for Access-Accept: remaining, exhausted, throttle reply
    period_bounds(plan, at); split_usage(usage, at)   # cycle boundaries

Counter keys: data, data:<class>, time, voice, sms, energy_import, energy_export,
bundle:<name>. For the invoicer: recurring_fees, one_off_fees, usage_lines, to_ledger,
Catalog.tax. The engine uses the thread's decimal context (the default, precision 28).
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
    Prepaid,
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
    "Prepaid",
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
