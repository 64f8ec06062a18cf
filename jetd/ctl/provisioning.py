"""jetctl account / realm / topup / charge / payment / token / users.

Usernames may be given as ``user@realm`` (realm name or one of its domains) or with
``--realm``. Every read takes ``--json``.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Any

import click

from jetd.ctl.base import Client, _socket_path, call, cli, emit, json_option, table

ACCOUNT_COLUMNS = ["id", "realm", "username", "status", "email", "simultaneous_use", "static_ip"]


def _invoice_channel(choice: bool | None) -> str:
    return "as the realm says" if choice is None else "by e-mail" if choice else "printed (not e-mailed)"


def _account_text(a: dict[str, Any]) -> str:
    bal, use = a.get("balances", {}), a.get("usage", {})
    lines = [
        f"{a['username']}@{a['realm']}  (id {a['id']})  {a['status']}",
        f"plan        {a.get('plan') or '-'}",
        f"email       {a.get('email') or '-'}    contact {a.get('contact_name') or '-'}",
        f"cycle day   {a['cycle_day']}    simultaneous use {a.get('simultaneous_use') or 'unlimited'}",
        f"address     {a.get('static_ip') or a.get('pool') or '-'}",
        f"invoices    {_invoice_channel(a.get('invoice_email'))}",
        f"credentials {', '.join(k for k, v in a['credentials'].items() if v) or 'none'}",
    ]
    if bal:
        lines.append(f"balance     {bal['balance']} {bal['currency']}  (payments {bal['payments']}, "
                     f"top-ups {bal['topups']}, charges {bal['charges']})")
    if use:
        lines.append(f"usage       {use['period_start']} .. {use['period_end']}: in {use['octets_in']} B, "
                     f"out {use['octets_out']} B, {use['seconds']} s, {use['sessions']} sessions")
    lines += _realtime_text(a.get("quota") or {})
    return "\n".join(lines)


def _realtime_text(q: dict[str, Any]) -> list[str]:
    """The real-time figures from Redis (quota_overview): what a NAS or gateway is answered from."""
    if not q:
        return []
    if not q.get("available"):
        return [f"real time   not available: {q.get('reason', '?')}"]
    currency = q.get("currency") or ""
    if not q.get("period"):
        lines = ["real time   no usage yet"]
    else:
        money = f"balance {q['balance']}" if q["mode"] == "prepaid" else f"charges {q['charges']}"
        lines = [f"real time   {q['mode']}, period {q['period']}: {money} {currency}; "
                 f"sessions open: {q['open_sessions']}"]
    held = q.get("held") or {}
    spend = Decimal(held.get("spend", "0")) if held else Decimal(0)
    if held and (held["octets"] or held["seconds"] or Decimal(held["money"]) or spend):
        of_bundles = f", {held['spend']} {currency} of money bundles" if spend else ""
        lines.append(f"held        {held['octets']} B, {held['seconds']} s, {held['money']} "
                     f"{currency}{of_bundles} (granted to Diameter sessions, not reported yet)")
    for b in q.get("bundles", []):
        state = "exhausted" if b["exhausted"] else f"{b['remaining']} left"
        lines.append(f"bundle      {b['name']} ({b['kind']}): {b['used']} of {b['size']} used, {state}")
    login = q.get("login")
    if login is not None:
        lines.append(f"login now   {_login_text(login)}")
    return lines


COUNTS = {"in": " from the subscriber", "out": " to the subscriber"}  # which octets a volume limit counts


def _login_text(login: dict[str, Any]) -> str:
    """What a RADIUS login would be answered now (quota_overview's ``login``)."""
    if not login["accept"]:
        return f"rejected: {login['message']}"
    parts = ["accepted"]
    if login["reply"]:
        parts.append(", ".join(f"{name} = {value}" for name, value in login["reply"].items()))
    if login["session_timeout"] is not None:
        parts.append(f"Session-Timeout {login['session_timeout']} s")
    if login["volume_octets"] is not None:
        counts = COUNTS.get(login["volume_counts"], "")
        parts.append(f"volume limit {login['volume_octets']} B{counts}")
    return "; ".join(parts)


@cli.group()
def account() -> None:
    """Subscriber accounts."""


@account.command("add")
@click.argument("username")
@click.option("--password", help="PAP/CHAP/MS-CHAPv2 password.")
@click.option("--plan", help="Pricebook plan name.")
@click.option("--realm", help="Realm (default: from user@realm, else 'default').")
@click.option("--email")
@click.option("--contact-name")
@click.option("--cycle-day", type=click.IntRange(1, 28), help="Billing cycle day (1-28).")
@click.option("--simultaneous-use", type=int)
@click.option("--static-ip")
@click.option("--pool")
@click.option("--invoice-email", type=click.Choice(["on", "off", "realm"]),
              help="Invoices by e-mail, or to the print outbox; 'realm' (default) follows the realm.")
@json_option
def account_add(username: str, as_json: bool, **opts: Any) -> None:
    """Create an account."""
    emit(call("account.add", username=username, **opts), as_json, _account_text)


@account.command("set")
@click.argument("username")
@click.option("--realm")
@click.option("--email", help="'' removes it.")
@click.option("--contact-name")
@click.option("--cycle-day", type=click.IntRange(1, 28))
@click.option("--simultaneous-use", type=int)
@click.option("--static-ip", help="'' removes it.")
@click.option("--pool", help="'' removes it.")
@click.option("--invoice-email", type=click.Choice(["on", "off", "realm"]),
              help="Invoices by e-mail, or to the print outbox; 'realm' follows the realm.")
@json_option
def account_set(username: str, as_json: bool, **opts: Any) -> None:
    """Change an account's details (only the options given)."""
    emit(call("account.set", username=username, **opts), as_json, _account_text)  # call drops unset options


@account.command("show")
@click.argument("username")
@click.option("--realm")
@json_option
def account_show(username: str, realm: str | None, as_json: bool) -> None:
    """An account with its plan, balances and current-period usage."""
    emit(call("account.show", username=username, realm=realm), as_json, _account_text)


@account.command("list")
@click.option("--realm")
@click.option("--status", type=click.Choice(["active", "suspended", "closed"]))
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--cursor", help="From a previous page's next_cursor.")
@json_option
def account_list(as_json: bool, **opts: Any) -> None:
    """List accounts, a page at a time."""

    def text(r: dict[str, Any]) -> str:
        out = table(r["items"], ACCOUNT_COLUMNS)
        return out + (f"\nmore: --cursor {r['next_cursor']}" if r["next_cursor"] else "")

    emit(call("account.list", **opts), as_json, text)


def _simple(name: str, command: str, doc: str, *extra: Any) -> None:
    @click.argument("username")
    @click.option("--realm")
    @json_option
    def run(username: str, realm: str | None, as_json: bool, **opts: Any) -> None:
        result = call(command, username=username, realm=realm, **opts)
        emit(result, as_json, lambda a: f"{a['username']}@{a['realm']}: {a['status']}")

    run.__doc__ = doc
    for decorator in extra:
        run = decorator(run)
    account.command(name)(run)


_simple("suspend", "account.suspend", "Suspend an active account.", click.option("--reason"))
_simple("resume", "account.resume", "Resume a suspended account.")
_simple("delete", "account.delete", "Close an account (its history is kept; the username stays taken).")


@account.command("passwd")
@click.argument("username")
@click.option("--realm")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def account_passwd(username: str, realm: str | None, password: str) -> None:
    """Set an account's password."""
    a = call("account.passwd", username=username, realm=realm, password=password)
    click.echo(f"password changed for {a['username']}@{a['realm']}")


@account.command("plan")
@click.argument("username")
@click.argument("plan")
@click.option("--realm")
@click.option("--from", "from_", metavar="YYYY-MM-DD", help="Effective date (default today).")
@json_option
def account_plan(username: str, plan: str, realm: str | None, from_: str | None, as_json: bool) -> None:
    """Change an account's plan from a date; the previous subscription ends that day."""
    sub = call("account.plan", username=username, plan=plan, realm=realm, **{"from": from_})
    emit(sub, as_json, lambda s: f"plan {s['plan']} from {s['start_date']}")


def _ledger(name: str, command: str, doc: str) -> None:
    @click.argument("username")
    @click.argument("amount")
    @click.option("--realm")
    @click.option("--currency", help="Must be the realm's currency.")
    @click.option("--description")
    @click.option("--reference", help="Your reference (receipt number, transaction id).")
    @click.option("--date", metavar="YYYY-MM-DD")
    @json_option
    def run(username: str, amount: str, as_json: bool, **opts: Any) -> None:
        entry = call(command, username=username, amount=amount, **opts)
        emit(entry, as_json,
             lambda e: f"{e['kind']} {e['amount']} {e['currency']} recorded (entry {e['id']})")

    run.__doc__ = doc
    cli.command(name)(run)


_ledger("topup", "ledger.topup", "Top up an account's balance: USERNAME AMOUNT (decimal).")
_ledger("charge", "ledger.charge", "Add a one-off charge: USERNAME AMOUNT (decimal).")
_ledger("payment", "ledger.payment", "Record a payment received: USERNAME AMOUNT (decimal).")


# --- realms -------------------------------------------------------------------------------

REALM_OPTIONS = [
    click.option("--domain", "domains", multiple=True, help="A domain the realm answers for (repeatable)."),
    click.option("--currency"), click.option("--tax-name"), click.option("--tax-rate", help="e.g. 0.21"),
    click.option("--invoice-format", help="e.g. INV-{realm}-{yyyy}-{seq:06}"),
    click.option("--email-delivery/--no-email-delivery", default=None),
    click.option("--auth-mode", type=click.Choice(["local", "proxy", "ldap"])),
    click.option("--auth-settings", metavar="JSON", help='e.g. {"url": "ldaps://dir.example"}'),
    click.option("--allow-chap/--no-allow-chap", default=None),
    click.option("--allow-mschap/--no-allow-mschap", default=None),
    click.option("--logo-path"), click.option("--colour-primary"), click.option("--colour-accent"),
    click.option("--watermark"), click.option("--footer"), click.option("--owner-account-id", type=int),
]


def _realm_args(opts: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in opts.items() if v is not None}
    out["domains"] = list(opts.get("domains") or []) or None
    if opts.get("auth_settings"):
        try:
            out["auth_settings"] = json.loads(opts["auth_settings"])
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--auth-settings") from None
    return {k: v for k, v in out.items() if v is not None}


def _realm_text(r: dict[str, Any]) -> str:
    return "\n".join(f"{k:<16} {v}" for k, v in r.items())


@cli.group()
def realm() -> None:
    """Realms (VISPs, regions, external authentication)."""


def _with_realm_options(func: Any) -> Any:
    for option in reversed(REALM_OPTIONS):
        func = option(func)
    return func


@realm.command("add")
@click.argument("name")
@_with_realm_options
@json_option
def realm_add(name: str, as_json: bool, **opts: Any) -> None:
    """Create a realm."""
    emit(call("realm.add", name=name, **_realm_args(opts)), as_json, _realm_text)


@realm.command("set")
@click.argument("name")
@_with_realm_options
@json_option
def realm_set(name: str, as_json: bool, **opts: Any) -> None:
    """Change a realm's settings."""
    emit(call("realm.set", name=name, **_realm_args(opts)), as_json, _realm_text)


@realm.command("show")
@click.argument("name")
@json_option
def realm_show(name: str, as_json: bool) -> None:
    """One realm's settings."""
    emit(call("realm.show", name=name), as_json, _realm_text)


@realm.command("list")
@json_option
def realm_list(as_json: bool) -> None:
    """Every realm."""
    emit(call("realm.list"), as_json,
         lambda rs: table([{**r, "domains": ",".join(r["domains"])} for r in rs],
                          ["name", "domains", "currency", "auth_mode", "owner_account_id"]))


# --- tokens -------------------------------------------------------------------------------

@cli.group()
def token() -> None:
    """API tokens for the HTTP provisioning API."""


@token.command("create")
@click.option("--operator", is_flag=True, help="An operator-wide token (sees every realm).")
@click.option("--realm", help="A token that sees and changes only this realm.")
@click.option("--name", default="jetctl", show_default=True, help="What the token is for.")
@json_option
def token_create(operator: bool, realm: str | None, name: str, as_json: bool) -> None:
    """Create a token; its value is shown once and only its hash is kept."""
    result = call("token.create", operator=operator, realm=realm, name=name)
    emit(result, as_json, lambda t: f"{t['token']}\n(token {t['id']}, "
                                    f"{'realm ' + t['realm'] if t['realm'] else 'operator-wide'}; "
                                    "shown once, store it now)")


@token.command("list")
@json_option
def token_list(as_json: bool) -> None:
    """Tokens (never their values)."""
    columns = ["id", "name", "realm", "created_at", "revoked_at"]
    emit(call("token.list"), as_json, lambda ts: table(ts, columns))


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token by id."""
    call("token.revoke", id=token_id)
    click.echo(f"token {token_id} revoked")


# --- users files --------------------------------------------------------------------------

@cli.group()
def users() -> None:
    """FreeRADIUS users files."""


def _call_slow(command: str, **args: Any) -> Any:
    """Like ``call`` but waits up to an hour: hashing each imported password takes time."""
    ctx = click.get_current_context()
    root = ctx.find_root().obj or {}
    path = _socket_path(root.get("socket"), root.get("config"))
    try:
        reply = Client(path, timeout=3600).request(command, {k: v for k, v in args.items() if v is not None})
    except FileNotFoundError:
        raise click.ClickException(f"no control socket at {path}: is jetd running?") from None
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot talk to jetd at {path}: {exc}") from None
    if not reply.get("ok"):
        click.echo(f"Error: {reply.get('error', 'unknown error')}", err=True)
        ctx.exit(1)
    return reply.get("result")


@users.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--realm", help="Import into this realm (default: from user@realm, else 'default').")
@click.option("--plan", help="Subscribe every imported account to this plan.")
@click.option("--partial", is_flag=True, help="Import the entries that are fine even if some are not.")
@json_option
def users_import(file: Any, realm: str | None, plan: str | None, partial: bool, as_json: bool) -> None:
    """Import a FreeRADIUS users FILE ('-' for stdin). Each line that cannot be taken is
    reported with its number; nothing is imported if there is one, unless --partial."""
    result = _call_slow("users.import", text=file.read(), realm=realm, plan=plan, partial=partial)
    if as_json:
        emit(result, True)
    else:
        for e in result["errors"]:
            click.echo(f"{file.name}:{e['line']}: {e['message']}", err=True)
        note = ""
        if result["errors"] and not partial:
            note = " (nothing imported: fix the lines above or use --partial)"
        click.echo(f"imported {result['imported']} of {result['entries']} entries{note}")
    if result["errors"]:
        sys.exit(1)


@users.command("export")
@click.option("--realm", help="Only this realm (names without @realm).")
@json_option
def users_export(realm: str | None, as_json: bool) -> None:
    """Write accounts as a FreeRADIUS users file on stdout."""
    result = call("users.export", realm=realm)
    if as_json:
        emit(result, True)
    else:
        click.echo(result["text"], nl=False)
