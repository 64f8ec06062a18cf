"""A billing run: for a target date, gather each account's inputs from SQL, bill every
cycle period up to the one containing the date that is not billed yet (pure
``invoicing.billing.bill``), and store each invoice with its number.

Accounts are billed in batches (``RunOptions.batch``): one transaction reads the batch's
open charges, ledger entries and carried credits in three queries, bills each account in
memory and writes the invoices, their lines and deliveries in bulk. An account with several
unbilled periods is billed period by period (one batch sees the previous one's invoices).

Idempotent: a period is billed once (``billed_periods``' primary key); a second run, or a
second invoicer racing this one, creates nothing new (a batch that meets a period billed
meanwhile is retried one account at a time). A run killed part-way loses nothing committed
and the next run resumes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from invoicing import metrics
from invoicing import store as istore
from invoicing.billing import BillingInput, Draft, LedgerCharge, Subscribed, bill, periods_between
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
    concurrency: int = 2  # batches billed at once (PostgreSQL)
    batch: int = 100  # accounts billed in one transaction


@dataclass
class RunReport:
    target: date
    created: list[dict[str, Any]] = field(default_factory=list)  # number, account, total
    empty: int = 0
    skipped: int = 0  # billed already (by an earlier run or another invoicer)
    errors: list[str] = field(default_factory=list)
    # of the process it ran in, when that was a process of its own: CPU time and peak memory
    cpu_seconds: float | None = None
    peak_rss_mb: float | None = None

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


@dataclass(frozen=True)
class Job:
    """One account's cycle period to bill."""

    account: Account
    subscribed: tuple[Subscribed, ...]
    period: tuple[date, date]

    @cached_property
    def current(self) -> list[Subscribed]:
        """The subscriptions active in the period, or in the one before (arrears fees)."""
        start, end = self.period
        since = start - timedelta(days=31)
        return [s for s in self.subscribed if s.start < end and (s.end is None or s.end > since)]

    @property
    def cutoff(self) -> datetime:
        """Usage that started before this instant (the period's start, in the plan's zone) is billed."""
        tz = (self.current or list(self.subscribed))[-1].plan.timezone
        return datetime.combine(self.period[0], time(0), tz)


@dataclass
class Outcome:
    """What one transaction billed; added to the run's report once it has committed."""

    created: list[dict[str, Any]] = field(default_factory=list)
    empty: int = 0
    skipped: int = 0  # billed by another invoicer meanwhile
    errors: list[tuple[int, str]] = field(default_factory=list)  # (account id, message)

    def merge(self, other: Outcome) -> None:
        self.created += other.created
        self.empty += other.empty
        self.skipped += other.skipped
        self.errors += other.errors

    def add_to(self, report: RunReport) -> None:
        report.created += self.created
        report.empty += self.empty
        report.skipped += self.skipped
        report.errors += [message for _, message in self.errors]
        for message in self.errors:
            metrics.BILLING_ERRORS.inc()
            log.error("cannot bill account %s: %s", *message)
        metrics.INVOICES_CREATED.inc(len(self.created))


async def billing_run(engine: AsyncEngine, catalog: Catalog, target: date, *, now: Callable[[], datetime],
                      options: RunOptions = RunOptions(), account_ids: list[int] | None = None) -> RunReport:
    """Bill every account (or ``account_ids``) up to ``target``. Batches run
    ``options.concurrency`` at a time on PostgreSQL (SQLite has one writer: one at a time)."""
    report = RunReport(target)
    async with engine.connect() as conn:
        realms = {r.name: r for r in await pstore.list_realms(conn)}
        accounts = await pstore.all_accounts(conn)
        subscriptions = await istore.all_subscriptions(conn)
        billed = await istore.all_billed(conn)
    if account_ids is not None:
        wanted = set(account_ids)
        accounts = [a for a in accounts if a.id in wanted]
    owners = {a.id: owned for a in accounts if (owned := realms_owned(realms.values(), a))}
    queues: list[list[Job]] = []
    for account in accounts:
        try:
            queue = unbilled(catalog, account, subscriptions.get(account.id, []), target,
                             billed.get(account.id, set()))
        except BillingInputError as exc:
            Outcome(errors=[(account.id, f"{account.realm}/{account.username}: {exc}")]).add_to(report)
            continue
        if queue:
            queues.append(queue)
    parallel = asyncio.Semaphore(options.concurrency if engine.dialect.name == "postgresql" else 1)
    failed: set[int] = set()  # an account that failed a period is not billed for the later ones

    async def batch(jobs: list[Job]) -> None:
        async with parallel:
            outcome = await bill_batch(engine, catalog, realms, jobs, target, now, options, owners)
            outcome.add_to(report)
            failed.update(account_id for account_id, _ in outcome.errors)

    for depth in range(max((len(q) for q in queues), default=0)):
        jobs = [q[depth] for q in queues if len(q) > depth and q[depth].account.id not in failed]
        await asyncio.gather(*(batch(jobs[i:i + options.batch]) for i in range(0, len(jobs), options.batch)))
    return report


def unbilled(catalog: Catalog, account: Account, subs: list[Subscription], target: date,
             done: set[date]) -> list[Job]:
    """The account's periods up to ``target`` not billed yet, oldest first."""
    if not subs:
        return []
    subscribed = tuple(_subscribed(catalog, account, subs))
    return [Job(account, subscribed, period)
            for period in periods_between(account.cycle_day, min(s.start for s in subscribed), target)
            if period[0] not in done]


async def bill_batch(engine: AsyncEngine, catalog: Catalog, realms: dict[str, Realm], jobs: list[Job],
                     target: date, now: Callable[[], datetime], options: RunOptions,
                     owners: dict[int, list[str]]) -> Outcome:
    """Bill ``jobs`` (one period each of distinct accounts) in one transaction; if another invoicer
    billed one of them meanwhile, bill them one at a time, skipping what is billed already."""
    try:
        async with engine.begin() as conn:
            return await _bill_jobs(conn, catalog, realms, jobs, target, now(), options, owners)
    except IntegrityError:
        pass
    outcome = Outcome()
    for job in jobs:
        for attempt in range(3):
            try:
                async with engine.begin() as conn:
                    one = await _bill_jobs(conn, catalog, realms, [job], target, now(), options, owners)
                outcome.merge(one)
                break
            except IntegrityError:
                # billed by another invoicer, or the realm's number counter created by another at
                # the same moment (then try again)
                if await _billed_already(engine, job) or attempt == 2:
                    outcome.skipped += 1
                    break
    return outcome


async def _billed_already(engine: AsyncEngine, job: Job) -> bool:
    async with engine.connect() as conn:
        return job.period[0] in await istore.billed_starts(conn, job.account.id)


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


async def _bill_jobs(conn: Any, catalog: Catalog, realms: dict[str, Realm], jobs: list[Job], target: date,
                     now: datetime, options: RunOptions, owners: dict[int, list[str]]) -> Outcome:
    outcome = Outcome()
    ids = [job.account.id for job in jobs]
    charges = await istore.open_charges_of(conn, {job.account.id: job.cutoff for job in jobs})
    ledgers = await istore.unbilled_ledger_of(
        conn, {job.account.id: min(job.period[1], target + timedelta(days=1)) for job in jobs})
    credits = await istore.credits_carried(conn, ids)
    drafts: list[tuple[Job, Draft]] = []
    nothing: list[tuple[int, date, int | None]] = []
    for n, job in enumerate(jobs):
        if n % 10 == 9:
            await asyncio.sleep(0)  # the delivery of invoices made earlier shares this event loop
        account = job.account
        try:
            inp = billing_input(catalog, realms[account.realm], job, target, options, charges[account.id],
                                ledgers[account.id], credits[account.id])
            owned, current = owners.get(account.id), job.current
            if owned and current:
                inp = await _wholesale(conn, inp, owned, current[-1].plan, job.period)
            draft = bill(inp)
        except (InvoicingError, ValueError) as exc:
            outcome.errors.append((account.id, f"{account.realm}/{account.username}: {exc}"))
            continue
        if draft is None:
            nothing.append((account.id, job.period[0], None))
            outcome.empty += 1
        else:
            drafts.append((job, draft))
    formats = {name: realm.invoice_format for name, realm in realms.items()}
    saved = await istore.save_invoices(conn, [(d, job.account.id) for job, d in drafts], formats, now)
    made = [(job.account, job.period[0], invoice_id, inv)
            for (job, _), (invoice_id, inv) in zip(drafts, saved, strict=True)]
    await istore.mark_periods(conn, nothing + [(a.id, start, invoice) for a, start, invoice, _ in made], now)
    for account, _, _, inv in made:
        outcome.created.append({"number": inv.number, "account": f"{account.username}@{account.realm}",
                                "period_start": inv.period_start.isoformat(), "total": str(inv.totals.total),
                                "currency": inv.currency})
    return outcome


def billing_input(catalog: Catalog, realm: Realm, job: Job, target: date, options: RunOptions,
                  charges: list[tuple[int, Charge]], ledger: list[LedgerCharge],
                  credit: Decimal) -> BillingInput:
    """Everything ``bill`` needs for one account's period (pure)."""
    account, current = job.account, job.current
    currencies = {s.plan.currency for s in current}
    if len(currencies) > 1:
        raise BillingInputError(f"account {account.id}: plans in {sorted(currencies)} in one period")
    return BillingInput(
        account_id=account.id, realm=realm.name, currency=currencies.pop() if currencies else realm.currency,
        period=job.period, issue_date=target, due_date=target + timedelta(days=options.due_days),
        seller=seller_of(realm), buyer=buyer_of(account), subscriptions=job.subscribed, ledger=tuple(ledger),
        charges=tuple(charges), credit_in=credit, tax=realm_tax(realm, catalog),
        payment_instructions=options.payment_instructions,
    )  # fmt: skip
