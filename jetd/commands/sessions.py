"""session.list, disconnect, coa: the open sessions in Redis and RFC 5176 to their NAS."""

from __future__ import annotations

from typing import Any

from jetd.app import App
from jetd.control import Args, command
from jetd.errors import ControlError, UsageError
from jetd.radius import replies
from jetd.radius.coa import identify
from jetd.radius.site import radius_service
from protocols.radius.errors import ClientError, RadiusError
from protocols.radius.packet import Attribute
from quota.errors import QuotaUnavailable


def _store(app: App) -> Any:
    store = app.services.get("quota")
    if store is None:
        raise ControlError("the quota store is not running in this process")
    return store


async def _sessions_of(app: App, account_id: int) -> list[dict[str, Any]]:
    store = _store(app)
    out = []
    for opened in await store.sessions(str(account_id)):
        snap = await store.read(opened.account, opened.key)
        if snap.session is None:
            continue
        info = snap.session.info
        out.append({
            "account": int(opened.account), "user": info.get("user", ""), "realm": info.get("realm", ""),
            "nas": info.get("nas", ""), "session_id": info.get("asid", ""),
            "start": int(info.get("start", 0) or 0), "updated": snap.session.updated or opened.updated,
            "octets_in": snap.session.last.get("in", 0), "octets_out": snap.session.last.get("out", 0),
            "seconds": snap.session.last.get("time", 0),
            "charges": str(sum(snap.session.money.values(), start=0)),
        })
    return out


def _account(app: App, name: str) -> tuple[int, str]:
    found = radius_service(app).find_account(name)
    if found is None:
        raise UsageError(f"no account {name!r}")
    return found[0].id, found[1]


@command("session.list")
async def session_list(app: App, args: Args) -> dict[str, Any]:
    """Open sessions: of one user, or all (from the reaper index)."""
    user = args.get_str("user")
    try:
        if user is not None:
            account_id, _ = _account(app, user)
            return {"items": await _sessions_of(app, account_id)}
        store = _store(app)
        accounts = sorted({int(s.account) for s in await store.open_sessions()})
        items = [s for a in accounts for s in await _sessions_of(app, a)]
    except QuotaUnavailable as exc:
        raise ControlError(f"Redis is unreachable: {exc}") from None
    return {"items": items}


async def _dynamic(app: App, args: Args, kind: str, changes: list[Attribute]) -> dict[str, Any]:
    account_id, _ = _account(app, args.need_str("user"))
    try:
        sessions = await _sessions_of(app, account_id)
    except QuotaUnavailable as exc:
        raise ControlError(f"Redis is unreachable: {exc}") from None
    if not sessions:
        raise ControlError(f"{args.need_str('user')} has no open session")
    dynamic = radius_service(app).dynamic_auth
    results = []
    for session in sessions:
        entry: dict[str, Any] = {"nas": session["nas"], "session_id": session["session_id"]}
        try:
            named = identify(session["user"], session["session_id"])
            result = await dynamic.send(kind, session["nas"], named + changes)
            entry["result"] = "ack" if result.acked else "nak"
            if result.error_cause is not None:
                entry["error_cause"] = str(result.error_cause)
        except ClientError as exc:
            entry["result"] = "no answer"
            entry["error"] = str(exc)
        results.append(entry)
    return {"items": results}


@command("disconnect")
async def disconnect(app: App, args: Args) -> dict[str, Any]:
    """Disconnect-Request (RFC 5176) for every open session of a user."""
    return await _dynamic(app, args, "disconnect", [])


@command("coa")
async def coa(app: App, args: Args) -> dict[str, Any]:
    """CoA-Request (RFC 5176) with ATTR=VALUE changes for every open session of a user."""
    dictionary = radius_service(app).dictionary
    changes = []
    for item in args.get_list("attributes"):
        name, sep, value = str(item).partition("=")
        if not sep:
            raise UsageError(f"expected ATTR=VALUE, got {item!r}")
        try:
            changes.append(replies.encode_text(dictionary, name.strip(), value.strip().strip('"')))
        except (RadiusError, ValueError, KeyError) as exc:
            raise UsageError(f"{name.strip()}: {exc}") from None
    return await _dynamic(app, args, "coa", changes)
