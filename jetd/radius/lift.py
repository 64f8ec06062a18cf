"""Lifting a throttle once what caused it is over, on the sessions it slowed.

A bundle that throttled is reset when a new billing period starts; a prepaid balance that
throttled at zero is lifted by a top-up. A session open across that moment keeps the throttled
rate until the NAS is told: each of the account's open RADIUS sessions gets a CoA-Request with
the values a login would get now for the attributes the throttle changed (the plan's, the
account's own over them, any throttle still in force). When one of them has no such value (the
throttle added a rate limit the plan does not set), a Disconnect-Request instead: the next
login gets the normal terms. Sent in the background, like every CoA from the accounting path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter

from jetd.radius import replies
from jetd.radius.coa import identify
from jetd.radius.limits import login_terms
from protocols.radius.errors import ClientError
from quota.errors import AccountNotFound, QuotaError
from rating import Plan

if TYPE_CHECKING:
    from jetd.app import App

log = logging.getLogger("jetd.accounting")

LIFTED = Counter("jet_quota_throttles_lifted_total",
                 "Sessions told a throttle is over (a new period, a top-up), by cause and how.",
                 ["cause", "how"])
_PENDING: set[asyncio.Task[Any]] = set()


def throttled_by_bundles(plan: Plan, at: datetime, counters: Mapping[str, Decimal]) -> set[str]:
    """The reply attributes bundle throttles (used up, or a threshold crossed) put in force at
    these period counters."""
    names: set[str] = set()
    for bundle in plan.terms_at(at).bundles:
        used = counters.get(bundle.counter, Decimal(0))
        if bundle.on_exhausted == "throttle" and used >= bundle.size:
            names.update(bundle.reply)
        for mark, threshold in bundle.marks:
            if threshold.action == "throttle" and used >= mark:
                names.update(threshold.reply)
    return names


def restoring(now_in_force: Mapping[str, str], names: set[str]) -> dict[str, str] | None:
    """The CoA changes that undo a throttle of ``names``: each at the value in force now; None when
    one has none (only a new login drops it)."""
    if not names <= now_in_force.keys():
        return None
    return {name: now_in_force[name] for name in sorted(names)}


def lift_later(app: App, account: str, names: set[str], cause: str, now: int) -> None:
    """``lift`` in the background (answers are logged and counted)."""
    if not names or app.services.get("quota") is None:
        return
    task = asyncio.get_running_loop().create_task(lift(app, account, names, cause, now))
    _PENDING.add(task)
    task.add_done_callback(_done)


def _done(task: asyncio.Task[Any]) -> None:
    _PENDING.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("lifting a throttle failed: %s", task.exception())


async def lift(app: App, account: str, names: set[str], cause: str, now: int) -> int:
    """Tell the NAS of each of the account's open RADIUS sessions that a throttle of ``names`` is
    over (``cause``: period, topup) at ``now``. Returns how many sessions were told."""
    from jetd.radius.site import radius_service

    store = app.services["quota"]
    service = radius_service(app)
    dynamic = service.dynamic_auth
    at = datetime.fromtimestamp(now, UTC)
    told = 0
    for opened in await store.sessions(account):
        try:
            snap = await store.read(account, opened.key)
        except (AccountNotFound, QuotaError):
            continue
        session = snap.session
        if session is None or dynamic.endpoint(session.info.get("nas", "")) is None:
            continue  # gone meanwhile, or a Diameter session (its gateway is no RADIUS client)
        user, realm, nas = session.info.get("user", ""), session.info.get("realm", ""), session.info["nas"]
        found = service.cache.get(realm, user)
        plan = service.plan(realm, found.plan_on(at.date())) if found is not None else None
        if found is None or plan is None:
            continue
        terms = login_terms(plan, at, snap.counters, snap.balance)
        changes = restoring({**terms.reply, **dict(found.reply)}, names)
        how = "disconnect" if changes is None else "coa"
        attributes = identify(user, session.info.get("asid", ""))
        if changes is not None:
            attributes += replies.plan_attributes(service.dictionary, changes.items(), "generic")
        try:
            result = await dynamic.send(how, nas, attributes)
        except ClientError as exc:
            log.warning("lifting the throttle of %s at %s: %s", user, nas, exc)
            continue
        LIFTED.labels(cause=cause, how=how).inc()
        log.info("throttle lifted", extra={"account": account, "user": user, "nas": nas, "cause": cause,
                                           "how": how, "acked": result.acked})
        told += 1
    return told

