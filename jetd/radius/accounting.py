"""Accounting: Start / Interim-Update / Stop / Accounting-On/Off into the quota store.

RFC 2866 §4.1: the Accounting-Response is sent only once the record is durable: applied
in Redis (rated, with its charges and counters) or appended, fsync'd, to the local
spool. If neither worked, nothing is answered and the NAS retransmits.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from jetd.charging import CallContext, period_of, quota_mode, rate_fn_for
from jetd.crossed import announce, crossed
from jetd.hooks.emit import emit_session_started, emit_session_stopped
from jetd.radius import replies
from jetd.radius.lift import lift_later, throttled_by_bundles
from jetd.radius.metrics import ANSWERS
from protocols.radius.packet import AcctStatusType, Attr, Code
from protocols.radius.server import Reply, Request
from provisioning.cache import AuthAccount
from quota.errors import AccountNotFound, PeriodBehind, QuotaError, QuotaUnavailable
from quota.model import AccountingRecord, ApplyResult, Kind, Rated, RatingInput, RolloverResult
from rating import Plan

if TYPE_CHECKING:
    from jetd.quota_site import QuotaSite
    from jetd.radius.service import RadiusService

log = logging.getLogger("jetd.accounting")

ACCT_GIGAWORDS = {Attr.ACCT_INPUT_OCTETS: 52, Attr.ACCT_OUTPUT_OCTETS: 53}
KINDS = {AcctStatusType.START: Kind.START, AcctStatusType.INTERIM_UPDATE: Kind.INTERIM,
         AcctStatusType.STOP: Kind.STOP}
_ANSWERED = ANSWERS.answered
_RESPONSE = Reply(Code.ACCOUNTING_RESPONSE)
CALLING_STATION_ID = 31
CALLED_STATION_ID = 30


class Accounting:
    def __init__(self, service: RadiusService) -> None:
        self.service = service
        self.app = service.app
        self._modes: dict[str, tuple[str, Decimal]] = {}  # account -> (mode, low balance) put

    @property
    def site(self) -> QuotaSite | None:
        return self.app.services.get("quota_site")

    # --- the request ------------------------------------------------------------------------

    async def handle(self, request: Request) -> Reply | None:
        started = time.perf_counter()
        packet = request.packet
        status = packet.acct_status_type
        nas = self.nas_address(request)
        now = self.event_time(request)
        if status in (AcctStatusType.ACCOUNTING_ON, AcctStatusType.ACCOUNTING_OFF):
            return await self._nas_restarted(request, nas, now, started)
        kind = KINDS.get(AcctStatusType(status)) if status in KINDS else None
        session_id = packet.acct_session_id
        found, plan = self._account_and_plan(packet.user_name or "", now)
        if (found is None or plan is None) and packet.user_name and kind is not None:
            # Created or changed a moment ago and not followed yet? Catch up with the outbox
            # once before answering for usage Jet could not charge.
            await self.service.refresh_cache()
            found, plan = self._account_and_plan(packet.user_name, now)
        if kind is None or not session_id or found is None:
            # Nothing Jet can charge: answer so the NAS stops retransmitting, and count it.
            reason = "unknown_user" if found is None else "unsupported"
            return self._answer("acct", reason, started)
        account, realm = found
        if plan is None:
            return self._answer("acct", "no_plan", started)
        record = AccountingRecord(
            account=str(account.id), nas=nas, session_id=session_id, kind=kind, now=now,
            counters=self.counters(request, plan), realm=realm, user=account.username,
            cause=self._cause(request) if kind is Kind.STOP else "", seen=int(request.received),
        )
        ctx = self.context(request, plan, now)
        try:
            result = await self.apply(record, plan, ctx)
        except QuotaUnavailable:
            site = self.site
            if site is None:
                return None
            try:
                await site.spool_record(record)
            except OSError:
                log.exception("cannot spool an accounting record: not answering, the NAS will retry")
                return None
            return self._answer("acct", "spooled", started)
        except QuotaError:
            log.exception("accounting record not applied: not answering, the NAS will retry")
            return None
        self.act(result, plan, record, request)
        return self._answer("acct", "ok", started)

    def _account_and_plan(self, name: str, now: int) -> tuple[tuple[AuthAccount, str] | None, Plan | None]:
        found = self.service.find_account(name)
        if found is None:
            return None, None
        account, realm = found
        return found, self.service.plan(realm, account.plan_on(datetime.fromtimestamp(now, UTC).date()))

    def _answer(self, kind: str, result: str, started: float) -> Reply:
        _ANSWERED(kind, result, time.perf_counter() - started)
        return _RESPONSE

    async def _nas_restarted(self, request: Request, nas: str, now: int, started: float) -> Reply | None:
        """RFC 2866 §5.1 Accounting-On/Off: every session open on that NAS is over."""
        store = self.app.services.get("quota")
        if store is None:
            return None
        try:
            closed = await store.close_nas(nas, now, self.rate_any, cause="NAS-Reboot")
        except QuotaUnavailable:
            return None
        for result in closed:
            self._announce(None, result)
        log.info("accounting on/off from %s: closed %d sessions", nas, len(closed))
        return self._answer("acct", "nas_restart", started)

    # --- what the record says ----------------------------------------------------------------

    @staticmethod
    def nas_address(request: Request) -> str:
        nas_ip = request.packet.get_ipv4(Attr.NAS_IP_ADDRESS)
        return str(nas_ip) if nas_ip is not None else request.source[0]

    @staticmethod
    def event_time(request: Request) -> int:
        """Event-Timestamp if the NAS sent one, else arrival less Acct-Delay-Time (RFC 2866 §5.2)."""
        stamp = request.packet.event_timestamp
        if stamp:
            return stamp
        delay = request.packet.get_int(Attr.ACCT_DELAY_TIME) or 0
        return int(request.received) - delay

    def counters(self, request: Request, plan: Plan) -> dict[str, int]:
        packet = request.packet
        octets_in = packet.get_counter64(Attr.ACCT_INPUT_OCTETS, 52) or 0
        octets_out = packet.get_counter64(Attr.ACCT_OUTPUT_OCTETS, 53) or 0
        counters = {"in": octets_in, "out": octets_out, "time": packet.get_int(Attr.ACCT_SESSION_TIME) or 0}
        settings = self.app.settings.radius
        if settings.energy_import_counter in counters:
            counters["wh_import"] = counters[settings.energy_import_counter]
        if settings.energy_export_counter in counters:
            counters["wh_export"] = counters[settings.energy_export_counter]
        return counters

    def context(self, request: Request, plan: Plan, now: int) -> CallContext:
        packet = request.packet
        attributes: dict[str, str] = {}
        data = plan.terms_at(datetime.fromtimestamp(now, UTC)).meters.get("data")
        if data is not None and data.classes is not None:
            name = data.classes.attribute
            dictionary = self.service.dictionary
            if name in dictionary:
                raw = packet.get(dictionary.key(name))
                if raw is not None:
                    attributes[name] = str(dictionary.decode_attr(dictionary.key(name), raw)[2])
        return CallContext(attributes=attributes, a_number=packet.get_str(CALLING_STATION_ID) or "",
                           b_number=packet.get_str(CALLED_STATION_ID) or "")

    @staticmethod
    def _cause(request: Request) -> str:
        cause = request.packet.get_int(Attr.ACCT_TERMINATE_CAUSE)
        return str(cause) if cause is not None else ""

    # --- applying ----------------------------------------------------------------------------

    async def apply(self, record: AccountingRecord, plan: Plan, ctx: CallContext) -> ApplyResult:
        """Apply one record; create the account's quota state or roll its period as needed."""
        store = self.app.services.get("quota")
        if store is None:
            raise QuotaUnavailable("the quota store is not running")
        period, start = period_of(plan, datetime.fromtimestamp(record.now, UTC))
        rate_fn = rate_fn_for(plan, ctx)
        mode = quota_mode(plan)
        if self._modes.get(record.account) != mode:
            # prepaid or postpaid as the plan says: set once per account and process, and again
            # when the account's plan says otherwise (a plan change)
            await store.put_account(record.account, period=period, currency=plan.currency, mode=mode[0],
                                    low_balance=mode[1])
            self._modes[record.account] = mode
        rolled: RolloverResult | None = None
        for _ in range(3):
            try:
                # usage from before the period's start (an interim spanning it) goes to the old period
                result: ApplyResult = await store.apply_record(record, rate_fn, period=period,
                                                               period_start=start)
                self._announce(record, result)
                if rolled is not None and rolled.rolled:
                    # a throttle of the old period is over: the sessions it slowed get their rate back
                    names = throttled_by_bundles(plan, datetime.fromtimestamp(record.now, UTC),
                                                 rolled.previous_counters)
                    lift_later(self.app, record.account, names, "period", record.now)
                return result
            except AccountNotFound:
                await store.put_account(record.account, period=period, currency=plan.currency, mode=mode[0],
                                        low_balance=mode[1])
            except PeriodBehind:
                rolled = await store.rollover(record.account, period, record.now)
        raise QuotaError(f"account {record.account}: cannot bring its quota state to period {period}")

    def _announce(self, record: AccountingRecord | None, result: ApplyResult) -> None:
        """session.started / session.stopped, once per session (a retransmitted Start or Stop
        neither opens nor completes one)."""
        if record is not None and result.opened:
            emit_session_started(self.app, record)
        if result.completed is not None:
            emit_session_stopped(self.app, result.completed)

    def plan_of(self, record: AccountingRecord) -> Plan | None:
        """The plan a record without its request is rated on (from the account cache)."""
        account = self.service.cache.get(record.realm, record.user)
        if account is None:
            return None
        day = datetime.fromtimestamp(record.now, UTC).date()
        return self.service.plan(record.realm, account.plan_on(day))

    def rate_any(self, inp: RatingInput) -> Rated:
        """A rater for records without a request (reaper, NAS restart): no data class or
        numbers are known."""
        plan = self.plan_of(inp.record)
        return Rated() if plan is None else rate_fn_for(plan, CallContext())(inp)

    async def replay(self, record: AccountingRecord) -> None:
        plan = self.plan_of(record)
        if plan is None:
            log.warning("spooled record for unknown account %s@%s dropped", record.user, record.realm)
            return
        await self.apply(record, plan, CallContext())

    async def reap(self, now: int) -> int:
        """Close, with their last counters, the sessions that missed too many interims."""
        store = self.app.services.get("quota")
        settings = self.app.settings.radius
        if store is None:
            return 0
        stale = await store.stale_sessions(now, settings.interim_interval * settings.reap_after_intervals)
        for session in stale:
            result = await store.close_session(session.account, session.key, now, self.rate_any,
                                               cause="Lost-Service")
            self._announce(None, result)
        return len(stale)

    # --- acting on what crossed ----------------------------------------------------------------

    def act(self, result: ApplyResult, plan: Plan, record: AccountingRecord, request: Request) -> None:
        """Thresholds fire once per period (the store decides); exhaustion throttles or cuts off."""
        if not result.fired:
            return
        for c in crossed(plan, datetime.fromtimestamp(record.now, UTC), result.fired):
            announce(self.app, record, plan, c)
            self.app.counters[f"thresholds_{c.action}"] += 1
            if c.action in ("throttle", "disconnect"):
                self._dynamic(c.action, c.reply, record, request)

    def _dynamic(self, action: str, reply: Mapping[str, str], record: AccountingRecord, request: Request
                 ) -> None:
        dynamic = self.service.dynamic_auth
        identify = [(int(Attr.USER_NAME), (request.packet.user_name or record.user).encode()),
                    (int(Attr.ACCT_SESSION_ID), record.session_id.encode())]
        framed = request.packet.get(Attr.FRAMED_IP_ADDRESS)
        if framed is not None:
            identify.append((int(Attr.FRAMED_IP_ADDRESS), framed))
        try:
            identify.append((int(Attr.NAS_IP_ADDRESS), ipaddress.IPv4Address(record.nas).packed))
        except ValueError:
            pass
        if action == "throttle":
            changes = replies.plan_attributes(self.service.dictionary, reply.items(), "generic")
            dynamic.fire("coa", record.nas, identify + changes)
        else:
            dynamic.fire("disconnect", record.nas, identify)
