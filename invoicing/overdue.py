"""Dunning: an invoice still owed ``grace_days`` after its due date raises ``invoice.overdue``.

Run after each billing run (``jet-invoicer run --date D`` and the daily run). For each
account with an invoice due before ``D - grace_days`` and not flagged yet, the account's
payments settle its invoices oldest first (``store.unpaid_invoices``); each such invoice
still owed is flagged (``invoices.overdue_at``) and its ``invoice.overdue`` event written
in the same transaction, so the event is raised exactly once per invoice, whichever
invoicer gets there first. What follows is the hooks' business: the built-in
``suspend_overdue`` suspends the account and disconnects its sessions, and
``resume_on_payment`` resumes it once nothing is owed (docs/hooks.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from invoicing import metrics
from invoicing import store as istore
from provisioning.events import event_row
from provisioning.store import add_events

log = logging.getLogger("jet.invoicer.overdue")


@dataclass
class OverdueReport:
    today: date
    flagged: list[dict[str, Any]] = field(default_factory=list)  # number, account, owed

    def to_dict(self) -> dict[str, Any]:
        return {"today": self.today.isoformat(), "flagged": self.flagged}


async def flag_overdue(engine: AsyncEngine, today: date, grace_days: int, *, now: Callable[[], datetime]
                       ) -> OverdueReport:
    """Raise ``invoice.overdue`` once for each invoice still owed after its due date plus
    ``grace_days`` (due 2026-07-15 with 7 days' grace: overdue from 2026-07-23)."""
    report = OverdueReport(today)
    due_before = today - timedelta(days=grace_days)
    async with engine.connect() as conn:
        candidates = await istore.overdue_candidates(conn, due_before)
        # Most candidates have paid (a paid invoice is never flagged, so it stays a candidate):
        # read them 500 at a time, and open a transaction only for those with something to flag.
        owing = []
        for first in range(0, len(candidates), 500):
            unpaid = await istore.unpaid_invoices_of(conn, candidates[first:first + 500])
            owing += [a for a, owed in unpaid.items()
                      if any(r.overdue_at is None and r.due_date < due_before for r, _ in owed)]
    for account_id in owing:
        async with engine.begin() as conn:
            for row, owed in await istore.unpaid_invoices(conn, account_id):
                if row.overdue_at is not None or row.due_date >= due_before:
                    continue
                at = now()
                if not await istore.mark_overdue(conn, row.id, at):
                    continue
                fields = istore.invoice_event_fields(row.number, row.period_start, row.period_end,
                                                     row.issue_date, row.due_date, row.total, row.currency)
                await add_events(conn, [event_row("invoice.overdue", account_id, row.realm, {
                    "user": row.username, "invoice": {**fields, "owed": owed},
                    "grace_days": grace_days}, now=at)])
                metrics.INVOICES_OVERDUE.inc()
                report.flagged.append({"number": row.number, "account": f"{row.username}@{row.realm}",
                                       "owed": str(owed), "currency": row.currency})
                log.info("invoice %s overdue: %s %s still owed", row.number, owed, row.currency,
                         extra={"invoice": row.number, "account_id": account_id})
    return report
