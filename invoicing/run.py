"""A billing run: for a target date, gather each account's inputs from SQL, bill every
cycle period up to the one containing the date that is not billed yet (pure
``invoicing.billing.bill``), and store each invoice with its number in one transaction.

Idempotent: a period is billed once (``billed_periods``' primary key); a second run, or a
second invoicer racing this one, creates nothing new. Each account's period is its own
transaction, so a run killed part-way loses nothing committed and the next run resumes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from invoicing import metrics
from invoicing import store as istore
from invoicing.billing import BillingInput, Subscribed, bill, periods_between
from invoicing.errors import InvoicingError
from invoicing.model import Branding, Buyer, Seller, Tax
from provisioning import store as pstore
from provisioning.models import Account, Realm, Subscription
from rating import Catalog, Charge, Plan, Usage, rate
from rating.fees import add_months

log = logging.getLogger("jet.invoicer.run")


class BillingInputError(InvoicingError):
    """An account cannot be billed as configured (unknown plan, mixed currencies)."""


@dataclass(frozen=True)
class RunOptions:
    due_days: int = 14
    payment_instructions: str = ""
    concurrency: int = 4  # accounts billed at once (PostgreSQL)


@dataclass
class RunReport:
    target: date
    created: list[dict[str, Any]] = field(default_factory=list)  # number, account, total
    empty: int = 0
    skipped: int = 0  # billed already (by an earlier run or another invoicer)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target.isoformat(), "created": self.created, "empty": self.empty,
                "skipped": self.skipped, "errors": self.errors}


def realm_tax(realm: Realm, catalog: Catalog) -> Tax | None:
    """The realm's own tax setting when it has a rate, else its pricebook's ``[tax]``."""
    if realm.tax_rate > 0:
        return Tax(realm.tax_name, realm.tax_rate)
    tax = catalog.tax(realm.name)
    return None if tax is None or tax.rate == 0 else Tax(tax.name, tax.rate)


def seller_of(realm: Realm) -> Seller:
    return Seller(name=realm.name, branding=Branding(
        logo_path=realm.logo_path, primary_color=realm.colour_primary or "#1F3A5F",
        accent_color=realm.colour_accent or "#E9EEF5", watermark=realm.watermark, footer=realm.footer or ""))


def buyer_of(account: Account) -> Buyer:
    return Buyer(name=account.contact_name or account.username, username=account.username,
                 email=account.email, account_id=str(account.id))


def _subscribed(catalog: Catalog, account: Account, subs: list[Subscription]) -> list[Subscribed]:
    out: list[Subscribed] = []
    for s in subs:
        plan = catalog.find_plan(account.realm, s.plan)
        if plan is None:
            raise BillingInputError(f"account {account.id}: no plan {s.plan!r} in the pricebook of "
                                    f"realm {account.realm}")
        out.append(Subscribed(plan, s.start_date, s.end_date))
    return out


async def billing_run(engine: AsyncEngine, catalog: Catalog, target: date, *, now: Callable[[], datetime],
                      options: RunOptions = RunOptions(), account_ids: list[int] | None = None) -> RunReport:
    """Bill every account (or ``account_ids``) up to ``target``. Accounts are billed
    ``options.concurrency`` at a time on PostgreSQL (SQLite has one writer: one at a time)."""
    report = RunReport(target)
    async with engine.connect() as conn:
        realms = {r.name: r for r in await pstore.list_realms(conn)}
        accounts = await pstore.all_accounts(conn)
        subscriptions = await istore.all_subscriptions(conn)
        billed = await istore.all_billed(conn)
    parallel = asyncio.Semaphore(options.concurrency if engine.dialect.name == "postgresql" else 1)

    async def one(account: Account) -> None:
        async with parallel:
            try:
                await bill_account(engine, catalog, realms[account.realm], account, target, now, options,
                                   report, owned=realms_owned(realms.values(), account),
                                   subs=subscriptions.get(account.id, []), done=billed.get(account.id, set()))
            except (InvoicingError, ValueError) as exc:
                log.error("cannot bill account %s: %s", account.id, exc)
                metrics.BILLING_ERRORS.inc()
                report.errors.append(f"{account.realm}/{account.username}: {exc}")

    await asyncio.gather(*(one(a) for a in accounts if account_ids is None or a.id in account_ids))
    return report


async def bill_account(engine: AsyncEngine, catalog: Catalog, realm: Realm, account: Account, target: date,
                       now: Callable[[], datetime], options: RunOptions, report: RunReport, *,
                       owned: list[str] | None = None, subs: list[Subscription] | None = None,
                       done: set[date] | None = None) -> None:
    """Bill the account's unbilled periods up to ``target``; ``owned``: realms it owns (wholesale);
    ``subs`` and ``done`` (its subscriptions, its billed periods) when the caller read them."""
    if subs is None or done is None:
        async with engine.connect() as conn:
            subs = await pstore.subscriptions_of(conn, account.id)
            done = await istore.billed_starts(conn, account.id)
    if not subs:
        return
    subscribed = _subscribed(catalog, account, subs)
    for start, end in periods_between(account.cycle_day, min(s.start for s in subscribed), target):
        if start in done:
            continue
        for attempt in range(3):
            try:
                async with engine.begin() as conn:
                    await _bill_period(conn, catalog, realm, account, subscribed, (start, end), target, now(),
                                       options, report, owned or [])
                break
            except IntegrityError:
                # another invoicer billed this period first, or created the realm's number
                # counter at the same moment (then try again)
                async with engine.connect() as conn:
                    if start in await istore.billed_starts(conn, account.id) or attempt == 2:
                        report.skipped += 1
                        break


def realms_owned(realms: Iterable[Realm], account: Account) -> list[str]:
    """The realms (other than its own) whose owner is this account."""
    return [r.name for r in realms if r.owner_account_id == account.id and r.name != account.realm]


async def _wholesale(conn: Any, inp: BillingInput, owned: list[str], plan: Plan,
                     period: tuple[date, date]) -> BillingInput:  # fmt: skip
    """S8: the owner's per-subscriber fees count the realms' active subscribers; the realms'
    data of the period before is rated on the owner's plan."""
    start, end = period
    since = datetime.combine(add_months(start, -1), time(0), plan.timezone)
    before = datetime.combine(start, time(0), plan.timezone)
    subscribers = await istore.realm_subscribers(conn, owned, start, end)
    octets = await istore.realm_data_octets(conn, owned, since, before)
    charges: tuple[Charge, ...] = ()
    if octets:
        meter = plan.terms_at(since).meters.get("data")
        count = meter.count if meter is not None else "both"
        usage = Usage("data", since, before, octets_in=octets if count == "in" else 0,
                      octets_out=0 if count == "in" else octets)
        charges = rate(usage, plan, {}).charges
    label = "realm " + ", ".join(owned)
    return replace(inp, subscribers=subscribers, wholesale=charges, wholesale_label=label)


async def _bill_period(conn: Any, catalog: Catalog, realm: Realm, account: Account,
                       subscribed: list[Subscribed], period: tuple[date, date], target: date, now: datetime,
                       options: RunOptions, report: RunReport, owned: list[str]) -> None:
    start, end = period
    since = start - timedelta(days=31)  # arrears fees reach back one period
    current = [s for s in subscribed if s.start < end and (s.end is None or s.end > since)]
    currencies = {s.plan.currency for s in current}
    if len(currencies) > 1:
        raise BillingInputError(f"account {account.id}: plans in {sorted(currencies)} in one period")
    currency = currencies.pop() if currencies else realm.currency
    tz = (current or subscribed)[-1].plan.timezone
    cutoff = datetime.combine(start, time(0), tz)
    inp = BillingInput(
        account_id=account.id, realm=realm.name, currency=currency, period=period, issue_date=target,
        due_date=target + timedelta(days=options.due_days), seller=seller_of(realm), buyer=buyer_of(account),
        subscriptions=tuple(subscribed),
        ledger=tuple(await istore.unbilled_ledger(conn, account.id, min(end, target + timedelta(days=1)))),
        charges=tuple(await istore.open_charges(conn, account.id, cutoff)),
        credit_in=await istore.credit_carried(conn, account.id), tax=realm_tax(realm, catalog),
        payment_instructions=options.payment_instructions,
    )  # fmt: skip
    if owned and current:
        inp = await _wholesale(conn, inp, owned, current[-1].plan, period)
    draft = bill(inp)
    if draft is None:
        await istore.mark_period(conn, account.id, start, None, now)
        report.empty += 1
        return
    invoice_id, inv = await istore.save_invoice(conn, draft, realm.invoice_format, account.id, now)
    await istore.mark_period(conn, account.id, start, invoice_id, now)
    metrics.INVOICES_CREATED.inc()
    report.created.append({"number": inv.number, "account": f"{account.username}@{account.realm}",
                           "period_start": inv.period_start.isoformat(), "total": str(inv.totals.total),
                           "currency": inv.currency})
