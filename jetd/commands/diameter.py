"""diameter.sessions, diameter.rar, diameter.asr: the Gy sessions jetd holds and requests to gateways."""

from __future__ import annotations

import time
from typing import Any

from jetd.app import App
from jetd.control import Args, command
from jetd.diameter.remote import RemoteDiameter
from jetd.errors import ControlError, UsageError
from jetd.radius.site import radius_service


def _service(app: App) -> Any:
    service = app.services.get("diameter")
    if service is None:
        raise ControlError("the Diameter listener is not running (diameter.enabled)")
    return service


def _account(app: App, args: Args) -> str:
    """The account of ``user`` (user or user@realm), or ``account`` (its id, as the main process
    forwards it to the worker serving Diameter)."""
    account = args.get_str("account")
    if account:
        return account
    user = args.get_str("user")
    if not user:
        raise UsageError("user is required")
    found = radius_service(app).find_account(user)
    if found is None:
        raise UsageError(f"no account {user!r}")
    return str(found[0].id)


@command("diameter.sessions")
async def diameter_sessions(app: App, args: Args) -> dict[str, Any]:
    """Open credit-control sessions: one user's, or everyone's; those this process serves (with
    workers: all the workers serve) and those kept in Redis by any jetd sharing it."""
    service = _service(app)
    if isinstance(service, RemoteDiameter):
        return await service.sessions(args.raw)
    account = _account(app, args) if args.get_str("user") or args.get_str("account") else None
    sessions = await (service.all_sessions() if account is None else service.sessions_of(account))
    now = int(time.time())
    quota = app.services["quota"]
    accounts = {s.account for s in sessions}
    held = {a: await quota.holds(a, now) for a in accounts}
    items = [{"session_id": s.session_id, "user": s.user, "realm": s.realm, "peer": s.peer_host,
              "start": s.started, "rating_groups": sorted(s.counters), "held_octets": held[s.account].octets,
              "held_seconds": held[s.account].seconds, "held_money": f"{held[s.account].money:f}",
              "held_spend": f"{held[s.account].spend:f}",
              "here": s.session_id in service.sessions}
             for s in sessions]
    return {"items": items}


@command("diameter.rar")
async def diameter_rar(app: App, args: Args) -> dict[str, Any]:
    """Re-Auth-Request for each of the user's sessions (after a top-up or a plan change)."""
    service = _service(app)
    if isinstance(service, RemoteDiameter):
        return await service.requests("diameter.rar", args.raw)
    return {"items": await service.reauthorize(_account(app, args), here_only=args.get_bool("here_only"))}


@command("diameter.asr")
async def diameter_asr(app: App, args: Args) -> dict[str, Any]:
    """Abort-Session-Request for each of the user's sessions (e.g. the account was suspended)."""
    service = _service(app)
    if isinstance(service, RemoteDiameter):
        return await service.requests("diameter.asr", args.raw)
    return {"items": await service.abort(_account(app, args), here_only=args.get_bool("here_only"))}
