"""What the thresholds a record crossed mean, and announcing them: shared by RADIUS
accounting and Diameter credit control.

The quota store reports each threshold once per period (``ApplyResult.fired``: names such
as ``data:80``, ``data:exhausted``, ``balance:low``); ``crossed`` reads them against the
plan (pure), ``announce`` counts, logs and raises the event for the hooks. What a protocol
does besides (RADIUS: CoA or Disconnect-Request) is the protocol's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Counter

from jetd.hooks.emit import emit_balance, emit_usage
from rating import Plan

log = logging.getLogger("jetd.accounting")

FIRED = Counter("jet_quota_thresholds_total", "Thresholds fired (once per period per account), by action.",
                ["action"])
BALANCE = "balance"  # the prepaid balance's thresholds: balance:low, balance:exhausted
# What using up a bundle (its on_exhausted) or a prepaid balance does; "charge"/"notify": an event only.
ON_EXHAUSTED = {"throttle": "throttle", "block": "disconnect"}


@dataclass(frozen=True)
class Crossed:
    bundle: str  # the bundle's name, or BALANCE
    threshold: str  # a percent ("80"), "exhausted", or for the balance "low"
    action: str  # notify | throttle | disconnect | exhausted
    reply: Mapping[str, str]  # the attributes a throttle sends


def crossed(plan: Plan, at: datetime, fired: Iterable[str]) -> list[Crossed]:
    """``fired`` read against the plan in force at ``at``; names it does not know are left out."""
    bundles = {b.name: b for b in plan.terms_at(at).bundles}
    out = []
    for name_what in fired:
        name, _, what = name_what.rpartition(":")
        if name == BALANCE:
            if plan.prepaid is not None:
                action = ON_EXHAUSTED.get(plan.prepaid.on_exhausted, "exhausted") if what == "exhausted" \
                    else "notify"
                out.append(Crossed(name, what, action, plan.prepaid.reply))
            continue
        bundle = bundles.get(name)
        if bundle is None:
            continue
        if what == "exhausted":
            out.append(Crossed(name, what, ON_EXHAUSTED.get(bundle.on_exhausted, "exhausted"), bundle.reply))
            continue
        threshold = next((t for t in bundle.thresholds if f"{t.percent.normalize():f}" == what), None)
        if threshold is not None:
            out.append(Crossed(name, what, threshold.action, threshold.reply))
    return out


def announce(app: Any, record: Any, plan: Plan, c: Crossed, logger: logging.Logger = log, **log_fields: str
             ) -> None:
    """Counted in ``jet_quota_thresholds_total``, logged (on the protocol's logger), and raised as
    ``usage.threshold`` / ``usage.exhausted`` (a bundle) or ``balance.low`` / ``balance.exhausted``
    (the balance)."""
    FIRED.labels(action=c.action).inc()
    fields = {"account": record.account, "user": record.user, "realm": record.realm, "threshold": c.threshold,
              "action": c.action, **log_fields}
    if c.bundle == BALANCE:
        emit_balance(app, record, plan.name, threshold=c.threshold, action=c.action)
        logger.info("prepaid balance", extra=fields)
    else:
        emit_usage(app, record, plan.name, bundle=c.bundle, threshold=c.threshold, action=c.action)
        logger.info("usage threshold", extra={**fields, "bundle": c.bundle})
