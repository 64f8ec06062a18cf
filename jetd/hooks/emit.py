"""Raising events from code that must not wait for the database: the RADIUS accounting path.

    from jetd.hooks.emit import emit_usage
    emit_usage(self.app, record, plan.name, bundle=name, threshold=what, action=action)

schedules one outbox write (``usage.threshold``, or ``usage.exhausted`` when ``threshold`` is
``"exhausted"``; ``session.started`` and ``session.stopped`` likewise) to run after those
scheduled before it, and returns at once; the write is
retried a few times on a database error, then logged as lost. The quota store decides
that a threshold fires once per period, so this is called once per threshold per period.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from provisioning.events import record_event

log = logging.getLogger("jetd.hooks")

_PENDING: set[asyncio.Task[None]] = set()
_LAST: list[asyncio.Task[None]] = []  # the newest write: each waits for the one before (order kept)
RETRY_DELAYS = (0.5, 2.0, 5.0)


def emit_usage(app: Any, record: Any, plan: str | None, *, bundle: str, threshold: str, action: str) -> None:
    """``record`` is the quota AccountingRecord (account, realm, user, nas, session_id, now)."""
    kind = "usage.exhausted" if threshold == "exhausted" else "usage.threshold"
    data = {"bundle": bundle, "threshold": threshold, "action": action, "plan": plan, "user": record.user,
            "session_id": record.session_id, "nas": record.nas}
    emit(app, kind, int(record.account), record.realm or None, data, record.now)


def emit_balance(app: Any, record: Any, plan: str | None, *, threshold: str, action: str) -> None:
    """``balance.low`` / ``balance.exhausted``: a prepaid balance reached its plan's low-balance
    level, or zero (once until the next top-up); ``record`` as for ``emit_usage``."""
    data = {"action": action, "plan": plan, "user": record.user, "session_id": record.session_id,
            "nas": record.nas}
    emit(app, f"balance.{threshold}", int(record.account), record.realm or None, data, record.now)


def emit_session_started(app: Any, record: Any) -> None:
    """``session.started``: the first record of a session (Start, or an Interim Jet had not seen).
    Written only when a configured hook takes it: a BRAS restart is thousands of sessions,
    and nobody should pay an outbox write each for events no hook reads."""
    if not app.settings.hooks.wanted("session.started"):
        return
    emit(app, "session.started", int(record.account), record.realm or None,
         {"user": record.user, "session_id": record.session_id, "nas": record.nas, "start": _at(record.now)},
         record.now)


def emit_session_stopped(app: Any, session: Any) -> None:
    """``session.stopped``: ``session`` is the quota CompletedSession (Stop, reaper, NAS restart);
    like session.started, only when a hook takes it."""
    if not app.settings.hooks.wanted("session.stopped"):
        return
    total = sum((Decimal(str(c.get("amount", "0"))) for c in session.charges), Decimal(0))
    emit(app, "session.stopped", int(session.account), session.realm or None,
         {"user": session.user, "session_id": session.session_id, "nas": session.nas,
          "start": _at(session.start), "stop": _at(session.stop), "cause": session.cause,
          "counters": dict(session.totals), "charges": total}, session.stop)


def _at(seconds: int) -> datetime:
    """A time in an event: the outbox writes it as every event's (ISO 8601, UTC, ``Z``)."""
    return datetime.fromtimestamp(seconds, UTC)


def emit(app: Any, kind: str, account_id: int, realm: str | None, data: dict[str, Any], at: int) -> None:
    """Schedule one outbox write after those scheduled before it (order kept) and return."""
    service = app.services.get("provisioning")
    if service is None:
        log.warning("%s for account %s not recorded: no provisioning service", kind, account_id)
        return
    before = _LAST[0] if _LAST else None
    task = asyncio.get_running_loop().create_task(_write(
        before, service.engine, kind, account_id, realm, data, _at(at)))
    _LAST[:] = [task]
    _PENDING.add(task)
    task.add_done_callback(_PENDING.discard)


async def _write(before: asyncio.Task[None] | None, engine: Any, kind: str, account_id: int,
                 realm: str | None, data: dict[str, Any], now: datetime) -> None:
    if before is not None and not before.done():
        await asyncio.wait([before])
    for delay in (*RETRY_DELAYS, None):
        try:
            await record_event(engine, kind, account_id, realm, data, now=now)
            return
        except Exception as exc:
            if delay is None:
                log.error("%s for account %s lost: %s", kind, account_id, exc,
                          extra={"account": account_id, "event_type": kind})
                return
            await asyncio.sleep(delay)


async def drain(within: float = 5.0) -> None:
    """Wait (bounded) for scheduled writes; HooksSite.stop calls it, before the provisioning
    service (started earlier, stopped later) closes its engine."""
    if _PENDING:
        await asyncio.wait(list(_PENDING), timeout=within)
