"""Credit control (RFC 4006, 3GPP TS 32.299 Gy) on the same Redis quota state as RADIUS.

Each Rating-Group of a Diameter session is one accounting session in the quota store
(``<Session-Id>#<Rating-Group>`` on NAS ``diameter:<gateway>``): Used-Service-Unit reports are
added up into cumulative counters and applied with ``apply_record`` through the RADIUS
accounting path (same rater, period counters, bundles, charges, thresholds; on Terminate the
completed session goes to the invoicer's stream). The rating group picks the plan's data class
(``[diameter] rating_groups``). What is granted, and held in Redis until it is reported, is
``granting``'s; the session kept in memory and Redis is ``session``'s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jetd.charging import CallContext
from jetd.crossed import announce, crossed
from jetd.diameter.granting import HOLD_GRACE, LIMIT, OK, Granting
from jetd.diameter.grants import (
    class_attributes,
    party_number,
    rating_group_classes,
    used_counters,
)
from jetd.diameter.metrics import DURATION, ERRORS, REQUESTS
from jetd.diameter.session import SINGLE, Answer, GySession, rating_group
from jetd.radius.site import radius_service
from protocols.diameter import (
    AvpCode,
    CcRequestType,
    CreditControlRequest,
    LocalNode,
    Message,
    PeerInfo,
    ProtocolError,
    RequestedAction,
    ResultCode,
    ServiceGrant,
    ServiceRequest,
    ServiceUnits,
    UsedUnits,
    build_asr,
    build_cca,
    build_rar,
    check_balance_result,
    cost_information,
    read_ccr,
)
from protocols.diameter.constants import CURRENCY_NUMERIC
from protocols.diameter.errors import UnknownSessionId
from quota.errors import QuotaError
from quota.model import AccountingRecord, ApplyResult, Kind
from rating import RatingError

if TYPE_CHECKING:
    from jetd.app import App
    from jetd.radius.service import RadiusService
    from protocols.diameter import DiameterServer
    from rating import Plan

log = logging.getLogger("jetd.diameter")

COMMANDS = {CcRequestType.INITIAL_REQUEST: "ccr-i", CcRequestType.UPDATE_REQUEST: "ccr-u",
            CcRequestType.TERMINATION_REQUEST: "ccr-t", CcRequestType.EVENT_REQUEST: "ccr-e"}


class CreditControl:
    def __init__(self, app: App, node: LocalNode) -> None:
        self.app = app
        self.node = node
        self.server: DiameterServer | None = None
        self.sessions: dict[str, GySession] = {}
        self.classes = rating_group_classes(app.settings.diameter.rating_groups)
        self.granting = Granting(app, self.classes)
        self._catalog: Any = None
        self._plans: dict[tuple[str, str | None], Plan] = {}

    @property
    def radius(self) -> RadiusService:
        return radius_service(self.app)

    # --- the request ------------------------------------------------------------------------

    async def handle(self, request: Message, peer: PeerInfo) -> Message:
        started = time.perf_counter()
        command = "ccr"
        try:
            ccr = read_ccr(request)
            command = COMMANDS.get(ccr.request_type, "ccr")
            answer = await self._dispatch(ccr, peer)
            single = answer.single
            if single is not None:
                cca = build_cca(self.node, request, answer.result, granted=single.granted,
                                validity_time=single.validity_time, final_unit=single.final_unit,
                                extra=answer.extra)
            else:
                cca = build_cca(self.node, request, answer.result, answer.grants, extra=answer.extra)
        except ProtocolError as exc:
            ERRORS.labels(reason=type(exc).__name__).inc()
            REQUESTS.labels(command=command, result=str(int(exc.result_code))).inc()
            raise
        except Exception:
            ERRORS.labels(reason="internal").inc()
            REQUESTS.labels(command=command, result=str(int(ResultCode.DIAMETER_UNABLE_TO_COMPLY))).inc()
            log.exception("credit-control request failed (answered 5012, not cached: the gateway retries)")
            raise
        REQUESTS.labels(command=command, result=str(answer.result)).inc()
        DURATION.labels(command=command).observe(time.perf_counter() - started)
        return cca

    async def _dispatch(self, ccr: CreditControlRequest, peer: PeerInfo) -> Answer:
        now = int(ccr.event_timestamp.timestamp()) if ccr.event_timestamp else int(time.time())
        kind = ccr.request_type
        if kind is CcRequestType.INITIAL_REQUEST:
            return await self._initial(ccr, peer, now)
        if kind is CcRequestType.EVENT_REQUEST:
            return await self._event(ccr, peer, now)
        session = self.sessions.get(ccr.session_id) or await self._take_up(ccr.session_id)
        if session is None:
            raise UnknownSessionId(f"no credit-control session {ccr.session_id!r}")
        session.seen = time.time()
        if peer.origin_host != session.peer_host:  # the gateway's mate took over, or another connection
            log.info("credit-control session %s now through %s (was %s)", ccr.session_id, peer.origin_host,
                     session.peer_host)
            session.origin = session.origin or session.peer_host  # its usage stays under the first
            session.peer_host, session.peer_realm = peer.origin_host, peer.origin_realm
        # RFC 4006 §5.1: Session-Id and CC-Request-Number identify a request. One applied already
        # (retransmitted to another process, or after a restart, past the duplicate cache) is
        # answered again without its usage being charged twice.
        repeated = ccr.request_number <= session.number
        if repeated:
            ERRORS.labels(reason="repeated_request").inc()
            log.info("CC-Request-Number %d of %s applied already: its usage is not charged again",
                     ccr.request_number, ccr.session_id)
        if kind is CcRequestType.UPDATE_REQUEST:
            answer = await self._update(session, ccr, now, repeated=repeated)
            session.number = max(session.number, ccr.request_number)
            await self._keep(session)
            return answer
        return await self._terminate(session, ccr, now, repeated=repeated)

    # --- sessions in Redis ----------------------------------------------------------------------

    @property
    def _session_ttl(self) -> int:
        """As long as supervision keeps a quiet session (``sweep``)."""
        return 2 * self.app.settings.diameter.validity_time + HOLD_GRACE

    async def _take_up(self, session_id: str) -> GySession | None:
        """A session this process does not know: one it had before a restart, or another jetd's.
        Redis unreachable raises (answered 5012, the gateway retries), rather than 5002 (which
        would end the subscriber's session)."""
        store = self.app.services.get("quota")
        state = await store.credit_session(session_id) if store is not None else None
        if state is None:
            return None
        session = self.sessions[session_id] = GySession.from_state(session_id, state)
        log.info("credit-control session taken up from Redis",
                 extra={"session_id": session_id, "account": session.account, "peer": session.peer_host})
        return session

    async def _keep(self, session: GySession, *, new: bool = False) -> None:
        store = self.app.services.get("quota")
        if store is None:
            return
        try:
            await store.keep_credit_session(session.account, session.session_id, session.state(),
                                            self._session_ttl, new=new)
        except QuotaError as exc:  # it lives on in this process; only a restart would lose it
            ERRORS.labels(reason="session_not_kept").inc()
            log.warning("credit-control session %s not written to Redis: %s", session.session_id, exc)

    async def _forget(self, session: GySession) -> None:
        self.sessions.pop(session.session_id, None)
        store = self.app.services.get("quota")
        if store is None:
            return
        try:
            await store.drop_credit_session(session.account, session.session_id)
        except QuotaError as exc:  # its state expires by itself (supervision time)
            log.warning("credit-control session %s not removed from Redis: %s", session.session_id, exc)

    # --- subscribers and plans ----------------------------------------------------------------

    def subscriber(self, ccr: CreditControlRequest) -> tuple[Any, str] | None:
        """Subscription-Id (E.164, IMSI, NAI, SIP URI, private) or User-Name → (account, realm)."""
        names = [data for _, data in ccr.subscription_ids]
        if ccr.user_name:
            names.append(ccr.user_name)
        for name in names:
            found = self.radius.find_account(name.removeprefix("sip:").removeprefix("tel:"))
            if found is not None:
                return found
        return None

    async def _admitted(self, ccr: CreditControlRequest, now: int) -> tuple[Any, str, Plan] | Answer:
        """The request's account, realm and plan on the day of ``now``, or the answer refusing it.
        An account not known yet, or without a plan that day, may have been created or changed a
        moment ago: the account cache catches up with the database once first (as RADIUS
        accounting does)."""
        found = self.subscriber(ccr)
        plan = None if found is None else self._plan(found[0], found[1], now)
        if plan is None:
            await self.radius.refresh_cache()
            found = self.subscriber(ccr)
            plan = None if found is None else self._plan(found[0], found[1], now)
        if found is None:
            return Answer(ResultCode.DIAMETER_USER_UNKNOWN)
        account, realm = found
        if account.status != "active":
            return Answer(ResultCode.DIAMETER_END_USER_SERVICE_DENIED)
        if plan is None:
            return Answer(ResultCode.DIAMETER_RATING_FAILED)
        return account, realm, plan

    def _plan(self, account: Any, realm: str, now: int) -> Plan | None:
        """The account's plan on the day of ``now`` (remembered per catalog: a reload swaps it)."""
        name = account.plan_on(datetime.fromtimestamp(now, UTC).date())
        catalog = self.app.loaded.parts.get("catalog")
        if catalog is not self._catalog or len(self._plans) > 10_000:
            self._catalog, self._plans = catalog, {}
        key = (realm, name)
        plan = self._plans.get(key)
        if plan is None:
            plan = self.radius.plan(realm, name)
            if plan is not None:
                self._plans[key] = plan
        return plan

    def _account_plan(self, session: GySession, now: int) -> tuple[Any, Plan | None]:
        account = self.radius.cache.get(session.realm, session.user)
        return account, (None if account is None else self._plan(account, session.realm, now))

    @staticmethod
    def _services(ccr: CreditControlRequest) -> Sequence[ServiceRequest]:
        if ccr.services:
            return ccr.services
        if ccr.requested is None and not ccr.used:
            return ()
        return (ServiceRequest(None, requested=ccr.requested, used=tuple(UsedUnits(u) for u in ccr.used)),)

    async def _initial(self, ccr: CreditControlRequest, peer: PeerInfo, now: int) -> Answer:
        admitted = await self._admitted(ccr, now)
        if isinstance(admitted, Answer):
            return admitted
        account, realm, plan = admitted
        session = GySession(ccr.session_id, str(account.id), account.username, realm, peer.origin_host,
                            peer.origin_realm, now, time.time(), number=ccr.request_number,
                            a_number=party_number(ccr.calling_party), b_number=party_number(ccr.called_party),
                            origin=peer.origin_host)
        self.sessions[ccr.session_id] = session
        answer = await self.granting.grant(session, plan, self._services(ccr), now, exhausted=())
        await self._keep(session, new=True)
        return answer

    async def _update(self, session: GySession, ccr: CreditControlRequest, now: int, *,
                      repeated: bool = False) -> Answer:
        """Commit the usage reported (not a ``repeated`` request's, applied already) and grant more."""
        account, plan = self._account_plan(session, now)
        services = self._services(ccr)
        if account is None or account.status != "active" or plan is None:
            if not repeated:
                await self._commit(session, plan, services, now, final=False)
            await self.granting.unhold(session, list(session.held))  # nothing more is granted
            if plan is None:
                return Answer(ResultCode.DIAMETER_RATING_FAILED)
            return Answer(ResultCode.DIAMETER_END_USER_SERVICE_DENIED)
        results = [] if repeated else await self._commit(session, plan, services, now, final=False)
        exhausted = tuple(e for r in results for e in r.exhausted)
        return await self.granting.grant(session, plan, services, now, exhausted=exhausted)

    async def _terminate(self, session: GySession, ccr: CreditControlRequest, now: int, *,
                         repeated: bool = False) -> Answer:
        _, plan = self._account_plan(session, now)
        services = [] if repeated else list(self._services(ccr))  # closed on the counters applied
        reported = {rating_group(s) for s in services}
        # Every rating group the session used is closed, reported now or not.
        services += [ServiceRequest(None if rg == SINGLE else rg) for rg in session.counters
                     if rg not in reported]
        await self._commit(session, plan, services, now, final=True, cause=str(ccr.termination_cause or ""))
        await self.granting.unhold(session, list(session.held))
        await self._forget(session)
        return Answer(OK)

    async def _commit(self, session: GySession, plan: Plan | None, services: Sequence[ServiceRequest],
                      now: int, *, final: bool, cause: str = "") -> list[ApplyResult]:
        """Apply each rating group's usage (cumulative counters) through the RADIUS accounting path.
        The new totals are kept only once every group is applied: a retried CCR re-applies the same
        cumulative counters, which charges nothing twice."""
        if plan is None:
            return []
        totals: dict[int, dict[str, int]] = {}
        results = []
        at = datetime.fromtimestamp(now, UTC)
        for service in services:
            rg = rating_group(service)
            if not service.used and not final:
                continue
            counters = dict(session.counters.get(rg, {"in": 0, "out": 0, "time": 0}))
            for used in service.used:
                for name, value in used_counters(used.units).items():
                    counters[name] = counters.get(name, 0) + value
            record = AccountingRecord(
                account=session.account, nas=session.nas, session_id=f"{session.session_id}#{rg}",
                kind=Kind.STOP if final else Kind.INTERIM, now=now, counters=counters, realm=session.realm,
                user=session.user, cause=cause, seen=int(session.seen))  # the reaper goes by our clock
            ctx = CallContext(attributes=class_attributes(plan, at, self.classes.get(rg)),
                              a_number=session.a_number, b_number=session.b_number)
            result = await self.radius.accounting.apply(record, plan, ctx)
            self._fired(result, plan, record)
            results.append(result)
            totals[rg] = counters
        session.counters.update(totals)
        # Reported: the grant's hold is spent. One asking for more keeps it until the new grant
        # replaces it (a call's hold stands for the whole call, charged only when it ends).
        asking = set() if final else {rating_group(s) for s in services if s.requested is not None}
        await self.granting.unhold(session, [rg for rg in totals if rg not in asking])
        return results

    def _fired(self, result: ApplyResult, plan: Plan, record: AccountingRecord) -> None:
        """Bundle and prepaid-balance thresholds crossed by this usage (once per period, whichever
        protocol crossed them): counted, logged and raised as events for the hooks, as RADIUS
        accounting does. The gateway itself is steered by the grants (Final-Unit-Indication), not
        by CoA."""
        for c in crossed(plan, datetime.fromtimestamp(record.now, UTC), result.fired):
            announce(self.app, record, plan, c, log, protocol="diameter")

    # --- CCR-Event: one-shot charging (SMS) ---------------------------------------------------

    async def _event(self, ccr: CreditControlRequest, peer: PeerInfo, now: int) -> Answer:
        admitted = await self._admitted(ccr, now)
        if isinstance(admitted, Answer):
            return admitted
        account, realm, plan = admitted
        events = 0
        for service in self._services(ccr):
            units = [u.units for u in service.used] + ([service.requested] if service.requested else [])
            events += sum(u.service_specific_units or 0 for u in units)
        events = events or 1
        at = datetime.fromtimestamp(now, UTC)
        session = GySession(ccr.session_id, str(account.id), account.username, realm, peer.origin_host,
                            peer.origin_realm, now, time.time())
        granted = ServiceGrant(None, OK, ServiceUnits(service_specific_units=events))
        action = ccr.requested_action or RequestedAction.DIRECT_DEBITING  # RFC 4006 §8.41
        if action in (RequestedAction.PRICE_ENQUIRY, RequestedAction.REFUND_ACCOUNT) \
                and plan.currency not in CURRENCY_NUMERIC:  # Cost-Information needs its ISO 4217 number
            log.info("CCR-Event %s: no ISO 4217 number for %s", ccr.session_id, plan.currency)
            return Answer(ResultCode.DIAMETER_RATING_FAILED)
        try:
            if action == RequestedAction.PRICE_ENQUIRY:
                price = await self.granting.price_of_events(session, plan, at, events)
                return Answer(OK, extra=(cost_information(price, plan.currency),))
            if action == RequestedAction.CHECK_BALANCE:
                enough = await self.granting.affords(session, plan, at, events)
                return Answer(OK, extra=(check_balance_result(enough),))
            if action == RequestedAction.REFUND_ACCOUNT:
                return await self._refund(session, plan, at, events, granted)
            if action != RequestedAction.DIRECT_DEBITING:
                return Answer(ResultCode.DIAMETER_INVALID_AVP_VALUE)
            if await self.granting.texts_barred(session, plan, at):
                return Answer(LIMIT)
            # a prepaid balance pays for them all, or nothing is charged and the event is refused
            if plan.prepaid is not None and not await self.granting.hold_events(session, plan, at, events):
                return Answer(LIMIT)
        except RatingError as exc:  # the plan has no price for texts
            log.info("CCR-Event %s not priced on %s: %s", ccr.session_id, plan.name, exc)
            return Answer(ResultCode.DIAMETER_RATING_FAILED)
        record = AccountingRecord(account=str(account.id), nas=session.nas, session_id=ccr.session_id,
                                  kind=Kind.STOP, now=now,
                                  counters={"events": events}, realm=realm, user=account.username)
        try:
            await self.radius.accounting.apply(record, plan, CallContext())
        finally:
            await self.granting.unhold(session, [SINGLE])
        return Answer(OK, single=granted)

    async def _refund(self, session: GySession, plan: Plan, at: datetime, events: int, granted: ServiceGrant
                      ) -> Answer:
        """REFUND_ACCOUNT: the events' price back on a prepaid balance, once per Session-Id (a
        top-up named after it). A postpaid account's charges cannot be refunded this way."""
        if plan.prepaid is None:
            log.info("CCR-Event refund for postpaid %s refused: refund on the invoice", session.session_id)
            return Answer(ResultCode.DIAMETER_UNABLE_TO_COMPLY)
        price = await self.granting.price_of_events(session, plan, at, events)
        await self.app.services["quota"].topup(session.account, f"refund:{session.session_id}", price,
                                               int(at.timestamp()))
        return Answer(OK, single=granted, extra=(cost_information(price, plan.currency),))

    # --- Jet → gateway: re-authorise, abort ---------------------------------------------------

    async def sessions_of(self, account: str) -> list[GySession]:
        """The account's sessions: this process's, and those in Redis it has not taken up (its own
        before a restart, or another jetd's)."""
        found = {s.session_id: s for s in self.sessions.values() if s.account == account}
        store = self.app.services.get("quota")
        if store is not None:
            try:
                states = await store.credit_sessions(account)
            except QuotaError as exc:
                log.warning("Diameter sessions of %s in Redis not listed: %s", account, exc)
                states = {}
            for session_id, state in states.items():
                if session_id not in found:
                    found[session_id] = GySession.from_state(session_id, state)
        return sorted(found.values(), key=lambda s: (s.started, s.session_id))

    async def all_sessions(self) -> list[GySession]:
        """Every session: this process's, and those in Redis it has not taken up (another jetd's)."""
        found = dict(self.sessions)
        store = self.app.services.get("quota")
        if store is not None:
            try:
                states = await store.all_credit_sessions()
            except QuotaError as exc:
                log.warning("Diameter sessions in Redis not listed: %s", exc)
                states = {}
            for session_id, state in states.items():
                found.setdefault(session_id, GySession.from_state(session_id, state))
        return sorted(found.values(), key=lambda s: (s.started, s.session_id))

    async def _reachable(self, account: str, here_only: bool) -> list[GySession]:
        """The account's sessions; ``here_only``: those whose gateway is connected to this process
        (a worker, asked by the main process with the others)."""
        sessions = await self.sessions_of(account)
        if not here_only:
            return sessions
        server = self.server
        return [s for s in sessions if server is not None and server.peer_connection(s.peer_host) is not None]

    async def reauthorize(self, account: str, *, here_only: bool = False) -> list[dict[str, Any]]:
        """RAR to the gateway of each of the account's sessions (after a top-up or a plan change):
        the gateway reports usage and asks again, and the new quota applies now. All at once: one
        gateway slow to answer does not hold back the others."""
        sessions = await self._reachable(account, here_only)
        for session in sessions:
            session.exhausted.clear()
        return await self._to_gateways(sessions, build_rar, "rar")

    async def abort(self, account: str, *, here_only: bool = False) -> list[dict[str, Any]]:
        """ASR to the gateway of each of the account's sessions (the account was suspended)."""
        return await self._to_gateways(await self._reachable(account, here_only), build_asr, "asr")

    async def _to_gateways(self, sessions: Sequence[GySession], build: Callable[..., Message], what: str
                           ) -> list[dict[str, Any]]:
        """``build``'s request (RAR, ASR) to each session's gateway, all at once."""
        return list(await asyncio.gather(*(
            self._send(s, build(self.node, session_id=s.session_id, destination_host=s.peer_host,
                                destination_realm=s.peer_realm), what)
            for s in sessions)))

    async def _send(self, session: GySession, msg: Message, what: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"session_id": session.session_id, "peer": session.peer_host, "request": what}
        if self.server is None:
            entry["error"] = "the Diameter listener is not running"
            return entry
        try:
            answer = await self.server.send_request(session.peer_host, msg, answer_timeout=5.0)
        except Exception as exc:  # PeerStateError, AnswerTimeout, a closed connection
            ERRORS.labels(reason=f"{what}_failed").inc()
            entry["error"] = str(exc) or type(exc).__name__
            return entry
        entry["result"] = answer.get_u32(AvpCode.RESULT_CODE)
        return entry

    # --- session supervision ------------------------------------------------------------------

    async def sweep(self, now: float) -> int:
        """Forget sessions not heard of for twice Validity-Time plus a grace period (RFC 4006's Tcc:
        the gateway is gone) and drop their holds; their quota sessions go to the reaper. Holds of a
        session still known expire by themselves (Validity-Time plus the grace period)."""
        quiet = now - 2 * self.app.settings.diameter.validity_time - HOLD_GRACE
        gone = [s for s in self.sessions.values() if s.seen < quiet]
        store = self.app.services.get("quota")
        for session in gone:
            self.sessions.pop(session.session_id, None)
            state = await store.credit_session(session.session_id) if store is not None else None
            if state is not None and GySession.from_state(session.session_id, state).seen >= quiet:
                continue  # the gateway went on with another jetd: the session and its holds are its
            await self.granting.unhold(session, list(session.held))
            await self._forget(session)
        return len(gone)
