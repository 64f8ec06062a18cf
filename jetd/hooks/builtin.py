"""The behaviours Jet has without configuring any hook; each is a delivery target named
``builtin.<behaviour>`` (so its deliveries show in ``jetctl hooks`` like any hook) and can
be turned off globally or per realm in ``[hooks.builtin]``.

| target                      | on                   | does                                             |
|-----------------------------|----------------------|--------------------------------------------------|
| builtin.welcome             | account.created      | welcome e-mail to the account's address          |
| builtin.usage_warning       | usage.threshold      | warning e-mail (once per threshold per period)   |
| builtin.low_balance_warning | balance.low          | e-mail: the prepaid balance is low               |
| builtin.balance_exhausted_notice | balance.exhausted | e-mail: the prepaid balance is used up       |
| builtin.suspend_overdue     | invoice.overdue      | suspend the account, disconnect its sessions     |
| builtin.resume_on_payment   | payment.received     | resume an account suspended as overdue           |
| builtin.suspension_notice   | account.suspended    | notice e-mail                                    |
| builtin.plan_change_notice  | account.plan_changed | notice e-mail                                    |
| builtin.abort_on_suspend    | account.suspended    | Abort-Session-Request to its Diameter sessions   |
| builtin.reauthorize_on_plan_change | account.plan_changed | Re-Auth-Request to its Diameter sessions  |
| builtin.credit_topup        | topup.received       | the top-up onto the real-time balance in Redis   |

An account without an e-mail address is skipped (recorded as done, "no address").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from invoicing.store import unpaid_invoices
from jetd.commands.quota import credit
from jetd.hooks.actions import Context, Transient, send_mail
from jetd.hooks.dispatcher import Run, Target
from jetd.hooks.mails import MAILS
from jetd.hooks.settings import BuiltinSettings
from jetd.hooks.template import fields, render
from provisioning.errors import Conflict, NotFound
from provisioning.models import Actor, Event
from provisioning.tables import outbox
from quota.errors import QuotaUnavailable

log = logging.getLogger("jetd.hooks")

HOOKS_ACTOR = Actor("hooks")
OVERDUE = "overdue"

EVENTS = {"welcome": "account.created", "usage_warning": "usage.threshold",
          "low_balance_warning": "balance.low", "balance_exhausted_notice": "balance.exhausted",
          "suspend_overdue": "invoice.overdue", "resume_on_payment": "payment.received",
          "suspension_notice": "account.suspended", "plan_change_notice": "account.plan_changed",
          "abort_on_suspend": "account.suspended", "reauthorize_on_plan_change": "account.plan_changed",
          "credit_topup": "topup.received"}


def builtin_targets(settings: BuiltinSettings, app: Any = None) -> list[Target]:
    actions: dict[str, Run] = {"suspend_overdue": _suspend(app), "resume_on_payment": _resume,
                               "abort_on_suspend": _gy(app, "abort"),
                               "reauthorize_on_plan_change": _gy(app, "reauthorize"),
                               "credit_topup": _credit(app)}
    return [Target(f"builtin.{behaviour}", _accepts(settings, behaviour, event_type),
                   _mail(behaviour, settings) if behaviour in MAILS else actions[behaviour])
            for behaviour, event_type in EVENTS.items()]


def _accepts(settings: BuiltinSettings, behaviour: str, event_type: str,
             ) -> Callable[[str, str | None, str | None], bool]:
    def accepts(kind: str, realm: str | None, plan: str | None) -> bool:
        return kind == event_type and settings.enabled(behaviour, realm)
    return accepts


def mail_fields(event: Event) -> dict[str, str]:
    values = {"name": "", "plan": "", "threshold": "", "bundle": "", "reason": "", "previous_plan": "",
              "effective": "", **fields(event)}
    values["name"] = values.get("account_contact_name") or values.get("account_username", "")
    values["plan"] = values.get("plan") or values.get("account_plan", "") or "-"
    values.setdefault("account_email", "")
    values.setdefault("account_username", "")
    return values


async def with_account(event: Event, ctx: Context) -> Event:
    """Events raised outside the service (usage.*, invoice.*) may carry only the account id:
    add the account as it is now, so the e-mail has an address and a name."""
    if isinstance(event.payload.get("account"), dict) or event.account_id is None or ctx.service is None:
        return event
    try:
        account = await ctx.service.get_account(HOOKS_ACTOR, event.account_id)
    except NotFound:
        return event
    return replace(event, payload={**event.payload, "account": account.to_dict()})


def _mail(behaviour: str, settings: BuiltinSettings) -> Run:
    async def run(event: Event, ctx: Context) -> str:
        subject, body = settings.mail_text(behaviour, event.realm, MAILS[behaviour])
        values = mail_fields(await with_account(event, ctx))
        to = values["account_email"]
        if not to:
            return "no address"
        return await send_mail(ctx, to, render(subject, values), render(body, values),
                               f"jet-builtin.{behaviour}.{event.id}")
    return run


def _suspend(app: Any) -> Run:
    async def run(event: Event, ctx: Context) -> str:
        if event.account_id is None:
            return "no account"
        try:
            account = await ctx.service.suspend(HOOKS_ACTOR, event.account_id, reason=OVERDUE)
            done = "suspended"
        except Conflict:  # suspended already (a redelivery) or closed
            account = await ctx.service.get_account(HOOKS_ACTOR, event.account_id)
            done = f"already {account.status}"
        except NotFound:
            return "no such account"
        return f"{done}; {await _disconnect(app, f'{account.username}@{account.realm}')}"
    return run


def _gy(app: Any, request: str) -> Run:
    """To each of the account's Diameter (Gy) sessions: ``abort`` (ASR: the account was
    suspended, however; its next CCR gets 4010) or ``reauthorize`` (RAR: its plan changed;
    the gateway reports and asks again)."""
    async def run(event: Event, ctx: Context) -> str:
        if event.account_id is None:
            return "no account"
        diameter = app.services.get("diameter") if app is not None else None
        if diameter is None:
            return "no Diameter listener in this process"
        answers = await getattr(diameter, request)(str(event.account_id))
        if not answers:
            return "no Diameter session"
        return f"{request}: {', '.join(str(a.get('result', a.get('error'))) for a in answers)}"
    return run


def _credit(app: Any) -> Run:
    """A top-up recorded in the ledger, however (API, jetctl, another process), onto the real-time
    balance the quota layer charges prepaid usage from; once per ledger entry (``ledger-<id>``, the
    id ``jetctl topup`` credits it under at once), so a repeat adds nothing. Redis away: retried."""
    async def run(event: Event, ctx: Context) -> str:
        entry = event.payload.get("entry")
        if event.account_id is None or not isinstance(entry, dict) or app is None:
            return "nothing to credit"
        plan = await ctx.service.plan_on(HOOKS_ACTOR, event.account_id) if ctx.service is not None else None
        try:
            result = await credit(app, event.account_id, str(entry["realm"]), plan, f"ledger-{entry['id']}",
                                  str(entry["amount"]))
        except QuotaUnavailable as exc:
            raise Transient(f"Redis is unreachable: {exc}") from None
        if result["applied"]:
            return f"credited: balance {result['balance']}"
        return str(result.get("reason") or f"credited already: balance {result['balance']}")
    return run


async def _disconnect(app: Any, user: str) -> str:
    """Disconnect-Request for the account's RADIUS sessions (their Diameter sessions get an
    ASR from ``abort_on_suspend``, on the account.suspended event)."""
    if app is None:
        return "sessions not disconnected (no daemon)"
    from jetd.control.registry import COMMANDS, Args

    try:
        result = await COMMANDS["disconnect"].handler(app, Args({"user": user}))
    except Exception as exc:  # no open session, no RADIUS service in this process, Redis down
        return f"disconnect: {exc}"
    return f"disconnect: {', '.join(str(i.get('result')) for i in result.get('items', [])) or 'none'}"


async def _resume(event: Event, ctx: Context) -> str:
    """Resume only an account this behaviour's sibling suspended as overdue (not one an
    operator suspended by hand), once its payments cover every invoice issued to it (oldest
    first) and its ledger balance is no longer negative."""
    if event.account_id is None:
        return "no account"
    try:
        account = await ctx.service.get_account(HOOKS_ACTOR, event.account_id)
    except NotFound:
        return "no such account"
    if account.status != "suspended":
        return f"account is {account.status}"
    async with ctx.service.engine.connect() as conn:
        last = (await conn.execute(select(outbox.c.payload).where(
            outbox.c.account_id == event.account_id, outbox.c.type == "account.suspended").order_by(
            outbox.c.id.desc()).limit(1))).scalar()
        if not isinstance(last, dict) or last.get("reason") != OVERDUE:
            return "suspended for another reason; left alone"
        owed = await unpaid_invoices(conn, event.account_id)
    if owed:
        return (f"{sum(o for _, o in owed)} still owed on {', '.join(r.number for r, _ in owed)}; "
                "left suspended")
    balance = (await ctx.service.balances(HOOKS_ACTOR, event.account_id)).get("balance", "0")
    if str(balance).startswith("-"):  # one-off charges not invoiced yet
        return f"balance still {balance}; left suspended"
    try:
        await ctx.service.resume(HOOKS_ACTOR, event.account_id)
    except Conflict:
        return "resumed already"
    return "resumed"
