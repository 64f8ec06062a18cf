"""Quota state for control commands: what `jetctl account show` adds from Redis."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from jetd.app import App
from jetd.charging import period_id, quota_mode
from jetd.radius.lift import lift_later
from jetd.radius.limits import Login, login_terms
from quota.errors import AccountNotFound, QuotaUnavailable
from quota.model import Snapshot
from rating import bundle_state


async def quota_overview(app: App, account_id: int, realm: str, plan_name: str | None) -> dict[str, Any]:
    """The account's real-time figures: period counters, bundles, running charges, sessions.

    ``{"available": false, "reason": …}`` when Redis cannot be asked.
    """
    store = app.services.get("quota")
    if store is None:
        return {"available": False, "reason": "the quota store is not running"}
    key = str(account_id)
    now = int(time.time())
    try:
        try:
            snap: Snapshot | None = await store.read(key)
        except AccountNotFound:  # no usage yet: no quota state (a first Diameter grant may hold some)
            snap = None
        sessions = await store.sessions(key) if snap is not None else []
        held = await store.holds(key, now)
    except QuotaUnavailable as exc:
        return {"available": False, "reason": f"Redis is unreachable: {exc}"}
    catalog = app.loaded.parts.get("catalog")
    plan = catalog.find_plan(realm, plan_name) if catalog is not None and plan_name else None
    counters = snap.counters if snap is not None else {}
    balance = snap.balance if snap is not None else Decimal(0)
    state: dict[str, Any] = {  # prepaid (mode): usage is taken off the balance as it is rated
        "period": snap.period, "mode": snap.mode, "currency": snap.currency,
        "charges": str(snap.charges), "balance": str(snap.balance),
    } if snap is not None else {
        "period": None, "mode": None, "currency": plan.currency if plan is not None else None,
        "charges": "0", "balance": "0",
    }
    bundles = []
    at = datetime.fromtimestamp(now, UTC)
    if plan is not None:
        for b in bundle_state(plan, counters, at):
            bundles.append({"name": b.name, "kind": b.kind, "size": str(b.size), "used": str(b.used),
                            "remaining": str(b.remaining), "exhausted": b.exhausted, "action": b.action})
    return {
        "available": True,
        **state,
        "counters": {k: str(v) for k, v in sorted(counters.items())},
        "bundles": bundles,
        "open_sessions": len(sessions),
        # granted to Diameter sessions and not reported yet
        "held": {"octets": held.octets, "seconds": held.seconds, "money": str(held.money),
                 "spend": str(held.spend)},
        # what a RADIUS login would get now (the plan's reply before the account's own)
        "login": None if plan is None else _login(login_terms(plan, at, counters, balance, held)),
    }


def _login(terms: Login) -> dict[str, Any]:
    if terms.refused is not None:
        return {"accept": False, "reason": terms.refused[0], "message": terms.refused[1]}
    return {"accept": True, "reply": dict(terms.reply), "session_timeout": terms.session_timeout,
            "volume_octets": terms.octets, "volume_counts": terms.direction}


async def quota_topup(app: App, account_id: int, realm: str, plan_name: str | None, topup_id: str,
                      amount: str) -> dict[str, Any]:
    """``credit``, with Redis away reported rather than raised (what jetctl prints)."""
    try:
        return await credit(app, account_id, realm, plan_name, topup_id, amount)
    except QuotaUnavailable as exc:
        return {"applied": False, "reason": f"Redis is unreachable: {exc}"}


async def credit(app: App, account_id: int, realm: str, plan_name: str | None, topup_id: str,
                 amount: str) -> dict[str, Any]:
    """Credit the real-time balance once per ``topup_id`` (a retry adds nothing), creating the
    account's real-time state first if it has none yet. QuotaUnavailable: Redis is away."""
    store = app.services.get("quota")
    catalog = app.loaded.parts.get("catalog")
    plan = catalog.find_plan(realm, plan_name) if catalog is not None and plan_name else None
    if store is None or plan is None:
        return {"applied": False, "reason": "no quota store or no plan: the ledger entry counts at billing"}
    now = int(time.time())
    key = str(account_id)
    try:
        result = await store.topup(key, topup_id, Decimal(amount), now)
    except AccountNotFound:
        mode, low = quota_mode(plan)
        await store.put_account(key, period=period_id(plan, datetime.fromtimestamp(now, UTC)),
                                currency=plan.currency, mode=mode, low_balance=low)
        result = await store.topup(key, topup_id, Decimal(amount), now)
    out: dict[str, Any] = {"applied": result.applied, "balance": str(result.balance)}
    if result.applied:
        out["reauthorized"] = await reauthorize_later(app, key)
        if plan.prepaid is not None and plan.prepaid.on_exhausted == "throttle" \
                and result.balance - Decimal(amount) <= 0 < result.balance:
            # the balance throttled its sessions at zero: they get their rate back now
            lift_later(app, key, set(plan.prepaid.reply), "topup", now)
    return out


log = logging.getLogger("jetd.diameter")
_PENDING: set[asyncio.Task[Any]] = set()


async def diameter_session_count(app: App, account: str) -> int:
    diameter = app.services.get("diameter")
    return len(await diameter.sessions_of(account)) if diameter is not None else 0


async def reauthorize_later(app: App, account: str) -> int:
    """RAR to the gateway of each of the account's Diameter sessions, so new quota applies
    now rather than at the next CCR-Update; sent in the background (the answer is logged
    and counted). Returns how many sessions there are."""
    diameter = app.services.get("diameter")
    sessions = await diameter_session_count(app, account)
    if diameter is not None and sessions:
        task = asyncio.get_running_loop().create_task(diameter.reauthorize(account))
        _PENDING.add(task)
        task.add_done_callback(_answered)
    return sessions


def _answered(task: asyncio.Task[Any]) -> None:
    _PENDING.discard(task)
    if task.cancelled():
        return
    if task.exception() is not None:
        log.warning("RAR after a top-up failed: %s", task.exception())
        return
    for answer in task.result():  # failures are also counted by the Diameter service
        log.info("RAR after a top-up", extra=answer)
