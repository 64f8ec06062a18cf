"""hooks.list, hooks.failed, hooks.retry, hooks.deliveries: the hook dispatcher's state."""

from __future__ import annotations

from typing import Any

from jetd.app import App
from jetd.control import Args, command
from jetd.errors import ControlError, UsageError
from provisioning import events as ev


def _dispatcher(app: App) -> Any:
    dispatcher = app.services.get("hooks")
    if dispatcher is None:
        raise ControlError("the hook dispatcher is not running")
    return dispatcher


@command("hooks.list")
async def hooks_list(app: App, args: Args) -> dict[str, Any]:
    """Every delivery target (configured hooks and built-ins) with its cursor and queue."""
    d = _dispatcher(app)
    async with d.engine.connect() as conn:
        counts = await ev.counts(conn)
        cursors = await ev.cursors(conn)
    actions = {h.name: h.action for h in app.settings.hooks.hook}
    items = []
    for t in d.targets:
        c = counts.get(t.name, {})
        items.append({"name": t.name, "action": actions.get(t.name, "builtin"),
                      "cursor": cursors.get(t.name), "pending": c.get(ev.PENDING, 0),
                      "done": c.get(ev.DONE, 0), "failed": c.get(ev.FAILED, 0)})
    return {"items": items}


@command("hooks.failed")
async def hooks_failed(app: App, args: Args) -> dict[str, Any]:
    """Deliveries parked after their last attempt (newest first)."""
    return await _deliveries(app, ev.FAILED, args)


@command("hooks.deliveries")
async def hooks_deliveries(app: App, args: Args) -> dict[str, Any]:
    """Recent deliveries of any status (newest first)."""
    return await _deliveries(app, args.get_str("status"), args)


async def _deliveries(app: App, status: str | None, args: Args) -> dict[str, Any]:
    d = _dispatcher(app)
    limit = args.get_int("limit", 100) or 100
    if not 1 <= limit <= 10000:
        raise UsageError("limit must be 1..10000")
    async with d.engine.connect() as conn:
        rows = await ev.list_deliveries(conn, status=status, hook=args.get_str("hook"), limit=limit)
    return {"items": [r.to_dict() for r in rows]}


@command("hooks.retry")
async def hooks_retry(app: App, args: Args) -> dict[str, Any]:
    """Put a failed delivery back in the queue, due now."""
    d = _dispatcher(app)
    delivery_id = args.get_int("id")
    if delivery_id is None:
        raise UsageError("missing argument: id")
    async with d.engine.begin() as conn:
        found = await ev.get_delivery(conn, delivery_id)
        if found is None:
            raise ControlError(f"no delivery {delivery_id}")
        if not await ev.retry(conn, delivery_id, d.clock()):
            raise ControlError(f"delivery {delivery_id} is {found.status}, not failed")
    d.wake()
    return {"id": delivery_id, "status": ev.PENDING}
