"""Quota state for control commands: what `jetctl account show` adds from Redis."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jetd.app import App
from quota.errors import AccountNotFound, QuotaUnavailable
from rating import bundle_state


async def quota_overview(app: App, account_id: int, realm: str, plan_name: str | None) -> dict[str, Any]:
    """The account's real-time figures: period counters, bundles, running charges, sessions.

    ``{"available": false, "reason": …}`` when Redis cannot be asked.
    """
    store = app.services.get("quota")
    if store is None:
        return {"available": False, "reason": "the quota store is not running"}
    key = str(account_id)
    try:
        snap = await store.read(key)
        sessions = await store.sessions(key)
    except AccountNotFound:
        return {"available": True, "period": None, "counters": {}, "bundles": [], "charges": "0",
                "balance": "0", "open_sessions": 0}
    except QuotaUnavailable as exc:
        return {"available": False, "reason": f"Redis is unreachable: {exc}"}
    catalog = app.loaded.parts.get("catalog")
    plan = catalog.find_plan(realm, plan_name) if catalog is not None and plan_name else None
    bundles = []
    if plan is not None:
        for b in bundle_state(plan, snap.counters, datetime.now(UTC)):
            bundles.append({"name": b.name, "kind": b.kind, "size": str(b.size), "used": str(b.used),
                            "remaining": str(b.remaining), "exhausted": b.exhausted, "action": b.action})
    return {
        "available": True,
        "period": snap.period,
        "currency": snap.currency,
        "counters": {k: str(v) for k, v in sorted(snap.counters.items())},
        "bundles": bundles,
        "charges": str(snap.charges),
        "balance": str(snap.balance),
        "open_sessions": len(sessions),
    }
