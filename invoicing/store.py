"""The invoicing store: rated sessions in, invoices and their delivery state out.

Functions take an open connection (the caller owns the transaction), like
``provisioning.store``. Works alike on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from invoicing.billing import Draft, LedgerCharge
from invoicing.codec import charge_from_dict, invoice_from_dict, invoice_to_dict, line_to_dict
from invoicing.delivery import Delivered, DeliveryResult, FailedPermanently
from invoicing.model import Invoice
from invoicing.tables import (
    billed_ledger,
    billed_periods,
    deliveries,
    invoice_counters,
    invoice_lines,
    invoices,
    rated_charges,
    rated_sessions,
)
from provisioning.events import event_row
from provisioning.models import Subscription
from provisioning.store import add_events, one_of, subscription_from_row
from provisioning.tables import accounts, ledger, subscriptions
from quota.model import CompletedSession
from rating import Charge

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def _insert_ignore(conn: AsyncConnection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# --- intake -------------------------------------------------------------------------------

async def store_session(conn: AsyncConnection, s: CompletedSession, stream_id: str, now: datetime) -> bool:
    """Store a completed session and its charges; False if it was stored before (a redelivery)."""
    stmt = _insert_ignore(conn, rated_sessions).values(
        account_id=int(s.account), session_key=s.key, realm=s.realm, username=s.user, session_id=s.session_id,
        nas=s.nas, start_at=_utc(s.start), stop_at=_utc(s.stop), cause=s.cause, counters=dict(s.totals),
        stream_id=stream_id, received_at=now,
    ).on_conflict_do_nothing(index_elements=["account_id", "session_key"]).returning(rated_sessions.c.id)
    row_id = (await conn.execute(stmt)).scalar()
    if row_id is None:
        return False
    rows = []
    for c in s.charges:
        detail = dict(c.get("detail") or {})
        if not detail:
            continue
        charge = charge_from_dict(detail)  # checks the record before it is stored
        rows.append({"session_row": row_id, "account_id": int(s.account), "realm": s.realm,
                     "at": charge.start, "meter": charge.meter, "due": charge.due,
                     "currency": charge.currency, "detail": detail})  # fmt: skip
    if rows:
        await conn.execute(insert(rated_charges), rows)
    return True


# --- billing inputs -----------------------------------------------------------------------

async def open_charges_of(conn: AsyncConnection, before: Mapping[int, datetime]
                          ) -> dict[int, list[tuple[int, Charge]]]:
    """Each account's rated charges not invoiced yet that started before its cut-off, oldest first
    (one query for many accounts)."""
    out: dict[int, list[tuple[int, Charge]]] = {a: [] for a in before}
    if not before:
        return out
    c = rated_charges.c
    q = select(c.id, c.account_id, c.at, c.detail).where(
        one_of(conn, c.account_id, list(before)), c.invoice_id.is_(None),
        c.at < max(before.values())).order_by(c.account_id, c.at, c.id)
    for r in await conn.execute(q):
        if r.at < before[r.account_id]:
            out[r.account_id].append((r.id, charge_from_dict(r.detail)))
    return out


async def unbilled_ledger_of(conn: AsyncConnection, before: Mapping[int, date]
                             ) -> dict[int, list[LedgerCharge]]:
    """Each account's one-off ledger charges dated before its day and not invoiced yet."""
    out: dict[int, list[LedgerCharge]] = {a: [] for a in before}
    if not before:
        return out
    q = select(ledger.c.id, ledger.c.account_id, ledger.c.description, ledger.c.amount, ledger.c.entry_date,
               ledger.c.currency).outerjoin(billed_ledger, billed_ledger.c.ledger_id == ledger.c.id).where(
        one_of(conn, ledger.c.account_id, list(before)), ledger.c.kind == "charge",
        ledger.c.entry_date < max(before.values()), billed_ledger.c.ledger_id.is_(None),
    ).order_by(ledger.c.account_id, ledger.c.entry_date, ledger.c.id)
    for r in await conn.execute(q):
        if r.entry_date < before[r.account_id]:
            out[r.account_id].append(LedgerCharge(r.id, r.description, r.amount, r.entry_date, r.currency))
    return out


async def all_subscriptions(conn: AsyncConnection) -> dict[int, list[Subscription]]:
    """Every subscription by account, oldest first (one query for a whole run)."""
    c = subscriptions.c
    q = select(subscriptions).order_by(c.account_id, c.start_date, c.id)
    out: dict[int, list[Subscription]] = {}
    for r in await conn.execute(q):
        out.setdefault(r.account_id, []).append(subscription_from_row(r))
    return out


async def all_billed(conn: AsyncConnection) -> dict[int, set[date]]:
    out: dict[int, set[date]] = {}
    q = select(billed_periods.c.account_id, billed_periods.c.period_start)
    for account_id, start in await conn.execute(q):
        out.setdefault(account_id, set()).add(start)
    return out


async def billed_starts(conn: AsyncConnection, account_id: int) -> set[date]:
    q = select(billed_periods.c.period_start).where(billed_periods.c.account_id == account_id)
    return set((await conn.execute(q)).scalars())


async def credits_carried(conn: AsyncConnection, account_ids: Sequence[int]) -> dict[int, Decimal]:
    """The credit each account's latest invoice carries forward (0 without an invoice)."""
    out = {a: Decimal(0) for a in account_ids}
    if not account_ids:
        return out
    later = invoices.alias("later")
    q = select(invoices.c.account_id, invoices.c.credit_forward).where(
        one_of(conn, invoices.c.account_id, list(account_ids)),
        ~select(later.c.id).where(later.c.account_id == invoices.c.account_id, or_(
            later.c.period_start > invoices.c.period_start,
            and_(later.c.period_start == invoices.c.period_start, later.c.id > invoices.c.id))).exists())
    for account_id, value in await conn.execute(q):
        out[account_id] = Decimal(value)
    return out


# --- invoices -----------------------------------------------------------------------------

async def next_number(conn: AsyncConnection, realm: str, fmt: str, issue: date,
                      counters: Table = invoice_counters) -> str:
    """The realm's next number, allocated in the caller's transaction (a rollback returns it);
    ``counters``: the invoices' sequence, or another (receipts have their own)."""
    return (await next_numbers(conn, realm, fmt, issue, 1, counters))[0]


async def next_numbers(conn: AsyncConnection, realm: str, fmt: str, issue: date, n: int,
                       counters: Table = invoice_counters) -> list[str]:
    """The realm's next ``n`` numbers, in order (one counter update for all of them)."""
    year = issue.year if ("{yyyy" in fmt or "{yy" in fmt) else 0
    key = and_(counters.c.realm == realm, counters.c.year == year)
    bump = update(counters).where(key).values(last=counters.c.last + n)
    last = (await conn.execute(bump.returning(counters.c.last))).scalar()
    if last is None:
        await conn.execute(insert(counters).values(realm=realm, year=year, last=n))
        last = n
    return [fmt.format(realm=realm, yyyy=issue.year, yy=issue.year % 100, mm=issue.month, seq=seq)
            for seq in range(last - n + 1, last + 1)]


async def mark_periods(conn: AsyncConnection, billed: Sequence[tuple[int, date, int | None]],
                       now: datetime) -> None:
    """Record (account, period start, invoice or None) as billed; IntegrityError if one was already."""
    if billed:
        await conn.execute(insert(billed_periods), [{"account_id": a, "period_start": start, "invoice_id": i,
                                                     "billed_at": now} for a, start, i in billed])


async def save_invoices(conn: AsyncConnection, drafts: Sequence[tuple[Draft, int]],
                        number_formats: Mapping[str, str], now: datetime) -> list[tuple[int, Invoice]]:
    """Number and store (draft, account id) pairs in the caller's transaction: the
    invoices, their lines, the charges and ledger entries they consumed, their pending deliveries
    and ``invoice.created`` events. Numbers run in the order given, per realm, without gaps."""
    numbers: dict[int, str] = {}
    by_realm: dict[str, list[int]] = {}
    for i, (draft, _) in enumerate(drafts):
        by_realm.setdefault(draft.realm, []).append(i)
    for realm, positions in sorted(by_realm.items()):
        issue = drafts[positions[0]][0].issue_date
        got = await next_numbers(conn, realm, number_formats[realm], issue, len(positions))
        numbers.update(zip(positions, got, strict=True))
    made = [(draft.invoice(numbers[i]), account_id) for i, (draft, account_id) in enumerate(drafts)]
    if not made:
        return []
    rows = [{
        "number": inv.number, "realm": inv.realm, "account_id": account_id, "username": inv.buyer.username,
        "period_start": inv.period_start, "period_end": inv.period_end, "issue_date": inv.issue_date,
        "due_date": inv.due_date, "currency": inv.currency, "subtotal": inv.totals.subtotal,
        "tax": inv.totals.tax, "total": inv.totals.total, "credit_in": inv.totals.credit_in,
        "credit_forward": inv.totals.credit_forward, "document": invoice_to_dict(inv), "pdf": None,
        "created_at": now} for inv, account_id in made]  # fmt: skip
    ids = list((await conn.execute(insert(invoices).returning(invoices.c.id, sort_by_parameter_order=True),
                                   rows)).scalars())
    lines, charged, ledgered, pending, events = [], [], [], [], []
    for invoice_id, (inv, account_id), (draft, _) in zip(ids, made, drafts, strict=True):
        lines += [{"invoice_id": invoice_id, "position": i, "line_group": d["group"],
                   "description": d["description"], "quantity": d["quantity"], "unit": d["unit"],
                   "unit_price": d["unit_price"], "amount": d["amount"], "tax_exempt": d["tax_exempt"]}
                  for i, d in enumerate(line_to_dict(line) for line in inv.lines)]
        charged += [{"charge": c, "invoice": invoice_id} for c in draft.charge_ids]
        ledgered += [{"ledger_id": x, "invoice_id": invoice_id} for x in draft.ledger_ids]
        pending.append({"invoice_id": invoice_id, "status": PENDING, "channel": None, "attempts": 0,
                        "next_attempt_at": now, "last_error": None, "detail": None,
                        "message_key": inv.number, "updated_at": now})
        # In the invoice's transaction: the event exists exactly when the invoice does.
        fields = invoice_event_fields(inv.number, inv.period_start, inv.period_end, inv.issue_date,
                                      inv.due_date, inv.totals.total, inv.currency)
        events.append(event_row("invoice.created", account_id, inv.realm,
                                {"user": inv.buyer.username, "invoice": fields}, now=now))
    if lines:
        await conn.execute(insert(invoice_lines), lines)
    if charged:
        await conn.execute(update(rated_charges).where(rated_charges.c.id == bindparam("charge"))
                           .values(invoice_id=bindparam("invoice")), charged)
    if ledgered:
        await conn.execute(insert(billed_ledger), ledgered)
    await conn.execute(insert(deliveries), pending)
    await add_events(conn, events)
    return [(invoice_id, inv) for invoice_id, (inv, _) in zip(ids, made, strict=True)]


def invoice_event_fields(number: str, period_start: date, period_end: date, issue_date: date, due_date: date,
                         total: Decimal, currency: str) -> dict[str, Any]:
    """``data.invoice`` of the invoice.* events (docs/hooks.md; the outbox writes dates and
    money as text)."""
    return {"number": number, "period_start": period_start, "period_end": period_end,
            "issue_date": issue_date, "due_date": due_date, "total": total, "currency": currency}


# --- what is owed ---------------------------------------------------------------------------

_OWED_COLUMNS = [invoices.c[n] for n in ("id", "number", "realm", "username", "period_start", "period_end",
                                          "issue_date", "due_date", "total", "currency", "overdue_at")]


def owed_oldest_first(rows: Sequence[Any], paid: Decimal) -> list[tuple[Any, Decimal]]:
    """Each invoice (oldest first) with what is still owed on it once ``paid`` has settled
    the invoices in the order they were issued, whatever the payments' dates; an invoice of
    total 0 is never owed."""
    out = []
    for r in rows:
        total = max(Decimal(str(r.total)), Decimal(0))
        covered = min(paid, total)
        paid -= covered
        out.append((r, total - covered))
    return out


async def _invoices_and_payments(conn: AsyncConnection, account_ids: Sequence[int], upto: int | None = None
                                 ) -> dict[int, tuple[list[Any], list[tuple[int, Decimal]]]]:
    """Each account's invoices oldest first, and its payments (ledger id, amount), those up to
    ledger id ``upto`` if given: two queries for all the accounts."""
    out: dict[int, tuple[list[Any], list[tuple[int, Decimal]]]] = {a: ([], []) for a in account_ids}
    if not account_ids:
        return out
    rows = await conn.execute(select(invoices.c.account_id, *_OWED_COLUMNS)
                              .where(one_of(conn, invoices.c.account_id, list(account_ids)))
                              .order_by(invoices.c.issue_date, invoices.c.id))  # fmt: skip
    for r in rows:
        out[r.account_id][0].append(r)
    q = select(ledger.c.account_id, ledger.c.id, ledger.c.amount).where(
        one_of(conn, ledger.c.account_id, list(account_ids)), ledger.c.kind == "payment")
    if upto is not None:
        q = q.where(ledger.c.id <= upto)
    for account_id, i, amount in await conn.execute(q):
        out[account_id][1].append((int(i), Decimal(str(amount))))
    return out


async def unpaid_invoices(conn: AsyncConnection, account_id: int) -> list[tuple[Any, Decimal]]:
    """The account's invoices not yet covered by its payments, oldest first, each with what is
    still owed on it (``owed_oldest_first``)."""
    return (await unpaid_invoices_of(conn, [account_id]))[account_id]


async def unpaid_invoices_of(conn: AsyncConnection, account_ids: Sequence[int]
                             ) -> dict[int, list[tuple[Any, Decimal]]]:
    """``unpaid_invoices`` of many accounts at once."""
    found = await _invoices_and_payments(conn, account_ids)
    return {a: [(r, o) for r, o in owed_oldest_first(rows, sum((x for _, x in paid), Decimal(0))) if o > 0]
            for a, (rows, paid) in found.items()}


async def settlement(conn: AsyncConnection, account_id: int, payment_id: int
                     ) -> tuple[list[tuple[Any, Decimal]], Decimal]:
    """What the payment ``payment_id`` paid on each invoice, after the payments before it
    (``owed_oldest_first``), and what the account owes after it (negative: in credit)."""
    rows, payments = (await _invoices_and_payments(conn, [account_id], upto=payment_id))[account_id]
    before = sum((a for i, a in payments if i < payment_id), Decimal(0))
    upto = sum((a for _, a in payments), Decimal(0))
    was, now = owed_oldest_first(rows, before), owed_oldest_first(rows, upto)
    paid = [(r, b - a) for (r, b), (_, a) in zip(was, now, strict=True) if b > a]
    return paid, sum((max(Decimal(str(r.total)), Decimal(0)) for r in rows), Decimal(0)) - upto


async def overdue_candidates(conn: AsyncConnection, due_before: date) -> list[int]:
    """Accounts with an invoice due before ``due_before`` not yet flagged overdue."""
    q = (select(invoices.c.account_id)
         .where(invoices.c.overdue_at.is_(None), invoices.c.due_date < due_before)
         .distinct().order_by(invoices.c.account_id))  # fmt: skip
    return [int(a) for a in (await conn.execute(q)).scalars()]


async def mark_overdue(conn: AsyncConnection, invoice_id: int, now: datetime) -> bool:
    """Flag the invoice overdue; False if another invoicer did so first."""
    done = await conn.execute(update(invoices)
                              .where(invoices.c.id == invoice_id, invoices.c.overdue_at.is_(None))
                              .values(overdue_at=now))  # fmt: skip
    return bool(done.rowcount)


def delivery_dict(r: Any) -> dict[str, Any]:
    """The delivery state of an invoice's or a receipt's row, JSON-ready."""
    return {"status": r.status, "channel": r.channel, "attempts": r.attempts,
            "next_attempt_at": None if r.next_attempt_at is None else r.next_attempt_at.isoformat(),
            "last_error": r.last_error, "detail": r.detail}


def invoice_row(r: Any) -> dict[str, Any]:
    """The public, JSON-ready summary of an invoice row (joined with its delivery)."""
    return {
        "number": r.number, "realm": r.realm, "account_id": r.account_id, "username": r.username,
        "period_start": r.period_start.isoformat(), "period_end": r.period_end.isoformat(),
        "issue_date": r.issue_date.isoformat(), "due_date": r.due_date.isoformat(), "currency": r.currency,
        "subtotal": str(r.subtotal), "tax": str(r.tax), "total": str(r.total),
        "credit_in": str(r.credit_in), "credit_forward": str(r.credit_forward),
        "delivery": delivery_dict(r),
    }  # fmt: skip


_SUMMARY = [invoices.c[n] for n in ("id", "number", "realm", "account_id", "username", "period_start",
                                    "period_end", "issue_date", "due_date", "currency", "subtotal", "tax",
                                    "total", "credit_in", "credit_forward")]  # fmt: skip
_DELIVERY = [deliveries.c[n] for n in ("status", "channel", "attempts", "next_attempt_at", "last_error",
                                       "detail")]  # fmt: skip


async def list_invoices(conn: AsyncConnection, *, account_id: int | None = None, undelivered: bool = False,
                        realm: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    q = select(*_SUMMARY, *_DELIVERY).join(deliveries, deliveries.c.invoice_id == invoices.c.id)
    if account_id is not None:
        q = q.where(invoices.c.account_id == account_id)
    if realm is not None:
        q = q.where(invoices.c.realm == realm)
    if undelivered:
        q = q.where(deliveries.c.status != DELIVERED)
    q = q.order_by(invoices.c.id).limit(limit)
    return [invoice_row(r) for r in await conn.execute(q)]


StoredInvoice = tuple[dict[str, Any], Invoice, bytes | None]


def invoice_detail(stored: StoredInvoice) -> dict[str, Any]:
    """An invoice with its lines, tax and whether its PDF is stored (jetctl invoice show, the API)."""
    summary, inv, pdf = stored
    return {**summary, "lines": [line_to_dict(line) for line in inv.lines],
            "tax_name": inv.tax.name if inv.tax else None, "tax_rate": str(inv.tax.rate) if inv.tax else None,
            "credit_applied": str(inv.totals.credit_applied), "email": inv.buyer.email,
            "pdf": pdf is not None}  # fmt: skip


async def get_invoice(conn: AsyncConnection, number: str) -> StoredInvoice | None:
    q = select(*_SUMMARY, *_DELIVERY, invoices.c.document, invoices.c.pdf).join(
        deliveries, deliveries.c.invoice_id == invoices.c.id).where(invoices.c.number == number)
    r = (await conn.execute(q)).first()
    if r is None:
        return None
    return invoice_row(r), invoice_from_dict(r.document), r.pdf


async def count_invoices(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(invoices))).scalar_one())


# --- delivery -----------------------------------------------------------------------------

async def invoice_email_choices(conn: AsyncConnection, account_ids: Sequence[int]) -> dict[int, bool | None]:
    """Each account's own choice of invoices by e-mail (None: as its realm says)."""
    if not account_ids:
        return {}
    rows = await conn.execute(select(accounts.c.id, accounts.c.invoice_email)
                              .where(one_of(conn, accounts.c.id, sorted(set(account_ids)))))  # fmt: skip
    return {int(i): choice for i, choice in rows}


async def due_deliveries(conn: AsyncConnection, now: datetime, limit: int) -> list[Any]:
    """The first ``limit`` deliveries due at ``now``, oldest first, with their invoices, locked for
    the caller's transaction (to claim them). Ordered by the due time alone, so the (status,
    next_attempt_at) index yields them without sorting every pending delivery (100,000 after a
    billing run)."""
    d = deliveries.c
    # FOR UPDATE SKIP LOCKED (PostgreSQL): a batch being claimed by another worker is passed over
    first = select(d.invoice_id, d.attempts, d.next_attempt_at, d.message_key).where(
        d.status == PENDING, d.next_attempt_at <= now).order_by(d.next_attempt_at).limit(limit)
    due = first.with_for_update(skip_locked=True).subquery()
    q = select(invoices.c.id, invoices.c.number, invoices.c.account_id, invoices.c.document, invoices.c.pdf,
               due.c.attempts, due.c.next_attempt_at, due.c.message_key).join(
        due, due.c.invoice_id == invoices.c.id).order_by(due.c.next_attempt_at, invoices.c.id)
    return list(await conn.execute(q))


async def claim_due(conn: AsyncConnection, table: Table, key: Any, keys: Sequence[Any], now: datetime,
                    until: datetime) -> set[Any]:
    """Take those of the deliveries ``keys`` (values of column ``key`` of ``invoice_deliveries`` or
    ``receipts``) still due at ``now`` until ``until``, in one statement, so another invoicer skips
    them; returns the keys taken (not those another invoicer took first)."""
    if not keys:
        return set()
    result = await conn.execute(update(table).where(
        one_of(conn, key, list(keys)), table.c.status == PENDING, table.c.next_attempt_at <= now,
    ).values(next_attempt_at=until).returning(key))
    return set(result.scalars())


async def store_pdf(conn: AsyncConnection, documents: Table, document_id: int, pdf: bytes) -> None:
    """The rendered PDF of an invoice or a receipt (``documents``: their table)."""
    await conn.execute(update(documents).where(documents.c.id == document_id).values(pdf=pdf))


def attempt_state(result: DeliveryResult) -> tuple[str, dict[str, Any]]:
    """One attempt's outcome as the delivery row's new state, and its metric label."""
    if isinstance(result, Delivered):
        return "delivered", {"status": DELIVERED, "channel": result.channel.value, "next_attempt_at": None,
                             "last_error": None, "detail": result.detail}
    if isinstance(result, FailedPermanently):
        return "failed", {"status": FAILED, "channel": None, "next_attempt_at": None,
                          "last_error": result.reason, "detail": None}
    return "retry", {"status": PENDING, "channel": None, "next_attempt_at": result.at,
                     "last_error": result.reason, "detail": None}


async def record_attempt(conn: AsyncConnection, table: Table, key: Any, result: DeliveryResult,
                         now: datetime) -> str:
    """Store one attempt's outcome on the delivery row; returns its metric label."""
    label, values = attempt_state(result)
    await conn.execute(update(table).where(key).values(**values, attempts=result.attempts, updated_at=now))
    return label


async def requeue(conn: AsyncConnection, number: str, now: datetime) -> bool:
    """Deliver an invoice again (jetctl invoice resend): pending now, a new Message-ID."""
    invoice_id = (await conn.execute(select(invoices.c.id).where(invoices.c.number == number))).scalar()
    if invoice_id is None:
        return False
    await conn.execute(update(deliveries).where(deliveries.c.invoice_id == invoice_id).values(
        status=PENDING, attempts=0, next_attempt_at=now, last_error=None,
        message_key=f"{number}.resend.{int(now.timestamp())}", updated_at=now))
    return True


async def sessions_count(conn: AsyncConnection, account_ids: Sequence[int] | None = None) -> int:
    q = select(func.count()).select_from(rated_sessions)
    if account_ids is not None:
        q = q.where(rated_sessions.c.account_id.in_(list(account_ids)))
    return int((await conn.execute(q)).scalar_one())


# --- wholesale (a realm's owner) ----------------------------------------------------------

async def realm_subscribers(conn: AsyncConnection, realms: Sequence[str], start: date, end: date) -> int:
    """Accounts of ``realms`` (not closed) with a subscription active on some day of [start, end)."""
    from provisioning.tables import accounts, subscriptions

    q = select(func.count(func.distinct(accounts.c.id))).select_from(
        accounts.join(subscriptions, subscriptions.c.account_id == accounts.c.id)).where(
        accounts.c.realm.in_(list(realms)), accounts.c.status != "closed", subscriptions.c.start_date < end,
        (subscriptions.c.end_date.is_(None)) | (subscriptions.c.end_date > start))
    return int((await conn.execute(q)).scalar_one())


async def realm_data_octets(conn: AsyncConnection, realms: Sequence[str], since: datetime,
                            before: datetime) -> int:  # fmt: skip
    """Octets of data used in ``realms`` by charges that started in [since, before)."""
    q = select(rated_charges.c.detail).where(
        rated_charges.c.realm.in_(list(realms)), rated_charges.c.meter == "data",
        rated_charges.c.at >= since, rated_charges.c.at < before)
    total = Decimal(0)
    for (detail,) in await conn.execute(q):
        if detail.get("kind") != "connection":
            total += Decimal(str(detail["billed"]))
    return int(total)
