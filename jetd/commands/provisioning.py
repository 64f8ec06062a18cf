"""Control commands for provisioning: accounts, realms, ledger, tokens, users files.

jetctl on the root-owned control socket is the trust anchor: these act as the
operator (all realms). Each handler resolves names, calls the provisioning service
and returns JSON; the service's errors become ControlErrors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import Any

from jetd.app import App
from jetd.commands.quota import diameter_session_count, quota_overview, quota_topup
from jetd.control import Args, command
from jetd.control.registry import Handler
from jetd.errors import ControlError, UsageError
from provisioning.errors import ProvisioningError
from provisioning.models import DEFAULT_REALM, Actor, NewAccount
from provisioning.service import Service
from provisioning.usersfile import import_users, render_users

JETCTL = Actor("jetctl")


def provisioning_command(name: str) -> Callable[[Handler], Handler]:
    """``@command(name)`` that turns the service's errors into control errors."""

    def register(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(app: App, args: Args) -> Any:
            try:
                return await handler(app, args)
            except ProvisioningError as exc:
                raise ControlError(str(exc)) from None

        return command(name)(wrapped)

    return register


def _service(app: App) -> Service:
    service = app.services.get("provisioning")
    if service is None:
        raise ControlError("provisioning is not running in this jetd")
    return service  # type: ignore[no-any-return]


def _date(args: Args, name: str) -> date | None:
    raw = args.get_str(name)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise UsageError(f"{name}: expected YYYY-MM-DD, got {raw!r}") from None


async def _account_id(app: App, args: Args) -> int:
    service = _service(app)
    realm, username = await service.resolve_username(JETCTL, args.need_str("username"), args.get_str("realm"))
    return (await service.find_account(JETCTL, realm, username)).id


# --- accounts -----------------------------------------------------------------------------

@provisioning_command("account.add")
async def account_add(app: App, args: Args) -> dict[str, Any]:
    """Create an account: username, password, plan, realm, email, …"""
    service = _service(app)
    realm, username = await service.resolve_username(JETCTL, args.need_str("username"), args.get_str("realm"))
    spec = NewAccount(
        username=username, realm=realm, password=args.get_str("password"), plan=args.get_str("plan"),
        plan_start=_date(args, "plan_start"), email=args.get_str("email"),
        contact_name=args.get_str("contact_name"), cycle_day=args.get_int("cycle_day", 1) or 1,
        simultaneous_use=args.get_int("simultaneous_use"), static_ip=args.get_str("static_ip"),
        pool=args.get_str("pool"), invoice_email=_invoice_email(args.get_str("invoice_email")))
    account = await service.create_account(JETCTL, spec)
    return await service.overview(JETCTL, account.id)


def _invoice_email(value: str | None) -> bool | None:
    """on / off / realm (or absent): the account's own choice, or the realm's."""
    if value in (None, "realm"):
        return None
    if value in ("on", "off"):
        return value == "on"
    raise UsageError(f"--invoice-email: on, off or realm, not {value!r}")


@provisioning_command("account.set")
async def account_set(app: App, args: Args) -> dict[str, Any]:
    """Change an account's contact details and invoice delivery (only the options given)."""
    changes: dict[str, Any] = {}
    for name in ("email", "contact_name", "pool", "static_ip"):
        value = args.get_str(name)
        if value is not None:
            changes[name] = value or None
    for name in ("cycle_day", "simultaneous_use"):
        number = args.get_int(name)
        if number is not None:
            changes[name] = number
    if args.get_str("invoice_email") is not None:
        changes["invoice_email"] = _invoice_email(args.get_str("invoice_email"))
    if not changes:
        raise UsageError("nothing to change: give at least one option")
    service = _service(app)
    account = await service.update_account(JETCTL, await _account_id(app, args), **changes)
    return await service.overview(JETCTL, account.id)


@provisioning_command("account.show")
async def account_show(app: App, args: Args) -> dict[str, Any]:
    """An account with its plan, balances and usage for the current period."""
    overview = await _service(app).overview(JETCTL, await _account_id(app, args))
    overview["quota"] = await quota_overview(app, overview["id"], overview["realm"], overview.get("plan"))
    return overview


@provisioning_command("account.list")
async def account_list(app: App, args: Args) -> dict[str, Any]:
    """Accounts, a page at a time (realm, status, limit, cursor)."""
    page = await _service(app).list_accounts(
        JETCTL, realm=args.get_str("realm"), status=args.get_str("status"),
        limit=args.get_int("limit", 100) or 100, cursor=args.get_str("cursor"))
    return {"items": [a.to_dict() for a in page.items], "next_cursor": page.next_cursor}


@provisioning_command("account.suspend")
async def account_suspend(app: App, args: Args) -> dict[str, Any]:
    """Suspend an active account."""
    account = await _service(app).suspend(JETCTL, await _account_id(app, args), args.get_str("reason"))
    return account.to_dict()


@provisioning_command("account.resume")
async def account_resume(app: App, args: Args) -> dict[str, Any]:
    """Resume a suspended account."""
    return (await _service(app).resume(JETCTL, await _account_id(app, args))).to_dict()


@provisioning_command("account.delete")
async def account_delete(app: App, args: Args) -> dict[str, Any]:
    """Close an account (its history stays for invoicing)."""
    return (await _service(app).delete_account(JETCTL, await _account_id(app, args))).to_dict()


@provisioning_command("account.passwd")
async def account_passwd(app: App, args: Args) -> dict[str, Any]:
    """Set an account's password."""
    account_id = await _account_id(app, args)
    return (await _service(app).set_password(JETCTL, account_id, args.need_str("password"))).to_dict()


@provisioning_command("account.plan")
async def account_plan(app: App, args: Args) -> dict[str, Any]:
    """Change plan from a date (default today)."""
    account_id = await _account_id(app, args)
    sub = await _service(app).change_plan(JETCTL, account_id, args.need_str("plan"), _date(args, "from"))
    return sub.to_dict()


# --- ledger -------------------------------------------------------------------------------

async def _ledger(app: App, args: Args, kind: str) -> dict[str, Any]:
    account_id = await _account_id(app, args)
    entry = await _service(app).add_ledger(
        JETCTL, account_id, kind, args.need_str("amount"), currency=args.get_str("currency"),
        description=args.get_str("description"), reference=args.get_str("reference"),
        entry_date=_date(args, "date"))
    return entry.to_dict()


@provisioning_command("ledger.topup")
async def topup(app: App, args: Args) -> dict[str, Any]:
    """Top up an account's balance: the ledger entry, then the real-time balance in Redis."""
    entry = await _ledger(app, args, "topup")
    plan = await _service(app).plan_on(JETCTL, int(entry["account_id"]))
    quota = await quota_topup(app, int(entry["account_id"]), entry["realm"], plan, f"ledger-{entry['id']}",
                              entry["amount"])
    if not quota["applied"] and "reason" not in quota:
        # the built-in credit_topup, following the ledger's event, credited it a moment before
        # (and sent the RARs): it is on the balance all the same
        quota.update(applied=True, by="builtin.credit_topup",
                     reauthorized=await diameter_session_count(app, str(entry["account_id"])))
    entry["quota"] = quota
    return entry


@provisioning_command("ledger.charge")
async def charge(app: App, args: Args) -> dict[str, Any]:
    """A one-off charge."""
    return await _ledger(app, args, "charge")


@provisioning_command("ledger.payment")
async def payment(app: App, args: Args) -> dict[str, Any]:
    """Record a payment received."""
    return await _ledger(app, args, "payment")


# --- realms -------------------------------------------------------------------------------

REALM_ARGS = ("domains", "currency", "tax_name", "tax_rate", "invoice_format", "email_delivery", "auth_mode",
              "auth_settings", "allow_chap", "allow_mschap", "logo_path", "colour_primary", "colour_accent",
              "watermark", "footer", "owner_account_id")


def _realm_fields(args: Args) -> dict[str, Any]:
    return {k: args.raw[k] for k in REALM_ARGS if args.raw.get(k) is not None}


@provisioning_command("realm.add")
async def realm_add(app: App, args: Args) -> dict[str, Any]:
    """Create a realm."""
    return (await _service(app).create_realm(JETCTL, args.need_str("name"), **_realm_fields(args))).to_dict()


@provisioning_command("realm.set")
async def realm_set(app: App, args: Args) -> dict[str, Any]:
    """Change a realm's settings."""
    return (await _service(app).update_realm(JETCTL, args.need_str("name"), **_realm_fields(args))).to_dict()


@provisioning_command("realm.show")
async def realm_show(app: App, args: Args) -> dict[str, Any]:
    """One realm."""
    return (await _service(app).get_realm(JETCTL, args.need_str("name"))).to_dict()


@provisioning_command("realm.list")
async def realm_list(app: App, args: Args) -> list[dict[str, Any]]:
    """Every realm."""
    return [r.to_dict() for r in await _service(app).all_realms()]


# --- tokens -------------------------------------------------------------------------------

@provisioning_command("token.create")
async def token_create(app: App, args: Args) -> dict[str, Any]:
    """An API token for one realm, or operator-wide; the plaintext is shown once."""
    realm = args.get_str("realm")
    if args.get_bool("operator") == (realm is not None):
        raise UsageError("give exactly one of --operator or --realm REALM")
    token, plaintext = await _service(app).create_token(JETCTL, args.get_str("name") or "jetctl", realm)
    return {**token.to_dict(), "token": plaintext}


@provisioning_command("token.list")
async def token_list(app: App, args: Args) -> list[dict[str, Any]]:
    """API tokens (never their values)."""
    return [t.to_dict() for t in await _service(app).list_tokens(JETCTL)]


@provisioning_command("token.revoke")
async def token_revoke(app: App, args: Args) -> dict[str, Any]:
    """Revoke an API token by id."""
    token_id = args.get_int("id")
    if token_id is None:
        raise UsageError("missing argument: id")
    return (await _service(app).revoke_token(JETCTL, token_id)).to_dict()


# --- FreeRADIUS users files ---------------------------------------------------------------

@provisioning_command("users.import")
async def users_import(app: App, args: Args) -> dict[str, Any]:
    """Import a FreeRADIUS users file (text); all or nothing unless partial."""
    return await import_users(_service(app), JETCTL, args.need_str("text"), realm=args.get_str("realm"),
                              partial=args.get_bool("partial"), plan=args.get_str("plan"),
                              default_realm=DEFAULT_REALM)


@provisioning_command("users.export")
async def users_export(app: App, args: Args) -> dict[str, Any]:
    """Render accounts as a FreeRADIUS users file."""
    realm = args.get_str("realm")
    accounts = await _service(app).export_accounts(JETCTL, realm)
    return {"text": render_users(accounts, with_realm=realm is None), "accounts": len(accounts)}
