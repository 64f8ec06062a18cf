"""From the pure engine's ``rating.Rating`` to what the quota functions apply (``Rated``).

The caller's ``rate_fn`` builds a ``rating.Usage`` from the ``RatingInput`` (the delta, the
record's time and attributes, the previous record's time ``snapshot.session.updated``),
calls ``rating.rate(usage, plan, snapshot.counters)`` and returns ``rated_from_rating(...)``.

Names that reach Redis's once-per-period set:
  ``<bundle>:<percent>``    a threshold crossed (``Crossing``), e.g. ``data:80``
  ``<bundle>:exhausted``    the bundle was exhausted by this usage (``Exhaustion.now``)
``Rated.exhausted`` lists every bundle exhausted after this usage (state, each time).
"""

from __future__ import annotations

from decimal import Decimal

from quota.model import Charge, Rated
from rating import Rating
from rating.explain import charge_to_dict


def _percent(value: Decimal) -> str:
    return f"{value.normalize():f}"


def rated_from_rating(rating: Rating, pool: str = "money") -> Rated:
    """Every charge (zero ones too: the invoice shows them) with the engine's explanation; the
    period-counter increments; crossed thresholds and exhaustions as once-per-period names."""
    charges = tuple(Charge(amount=c.due, pool=pool, detail=charge_to_dict(c)) for c in rating.charges)
    thresholds = [f"{x.bundle}:{_percent(x.percent)}" for x in rating.crossings]
    thresholds += [f"{e.bundle}:exhausted" for e in rating.exhausted if e.now]
    return Rated(charges=charges, increments=dict(rating.counters), thresholds=tuple(thresholds),
                 exhausted=tuple(e.bundle for e in rating.exhausted))
