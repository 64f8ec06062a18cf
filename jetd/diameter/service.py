"""Credit control (RFC 4006, 3GPP TS 32.299 Gy) on the same Redis quota state as RADIUS.

Each Rating-Group of a Diameter session is one accounting session in the quota store
(``<Session-Id>#<Rating-Group>`` on NAS ``diameter:<gateway>``): Used-Service-Unit reports are
added up into cumulative counters and applied with ``apply_record`` through the RADIUS
accounting path (same rater, period counters, bundles, charges, thresholds; on Terminate the
completed session goes to the invoicer's stream). The rating group picks the plan's data class
(``[diameter] rating_groups``). What is granted is capped by the plan's blocking data bundles
less the grants held for the account's other sessions, and, on a prepaid plan, by what the balance
pays for less what the other sessions' grants cost: holds live in Redis with the quota state
(``jet_hold``), so every jetd sharing it counts them, and they expire on their own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgpack

from jetd.charging import CallContext
from jetd.crossed import announce, crossed
from jetd.diameter.grants import (
    Price,
    affordable,
    blocking_allowance,
    class_attributes,
    data_price,
    party_number,
    rating_group_classes,
    seconds_price,
    used_counters,
    wants_time,
)
from jetd.diameter.metrics import DURATION, ERRORS, REQUESTS
from jetd.radius.site import radius_service
from protocols.diameter import (
    AvpCode,
    CcRequestType,
    CreditControlRequest,
    FinalUnit,
    FinalUnitAction,
    LocalNode,
    Message,
    PeerInfo,
    ProtocolError,
    RedirectAddressType,
    ResultCode,
    ServiceGrant,
    ServiceRequest,
    ServiceUnits,
    UsedUnits,
    build_asr,
    build_cca,
    build_rar,
    read_ccr,
)
from protocols.diameter.errors import UnknownSessionId
from quota.errors import AccountNotFound, QuotaError
from quota.model import AccountingRecord, ApplyResult, Hold, Kind
from quota.reservations import MICRO, micro_down, micro_up
from rating import RatingError

if TYPE_CHECKING:
    from jetd.app import App
    from jetd.radius.service import RadiusService
    from protocols.diameter import DiameterServer
    from rating import Plan

log = logging.getLogger("jetd.diameter")

COMMANDS = {CcRequestType.INITIAL_REQUEST: "ccr-i", CcRequestType.UPDATE_REQUEST: "ccr-u",
            CcRequestType.TERMINATION_REQUEST: "ccr-t", CcRequestType.EVENT_REQUEST: "ccr-e"}
SINGLE = -1  # the rating group key of a single-service (no MSCC) gateway
HOLD_GRACE = 30  # seconds past Validity-Time before a grant not reported is given back
HOLD_RETRIES = 5  # re-reads of the counters when usage moved them between the read and the hold
OK = ResultCode.DIAMETER_SUCCESS
REDIRECT_TYPES = {"url": RedirectAddressType.URL, "ipv4": RedirectAddressType.IPV4_ADDRESS,
                  "ipv6": RedirectAddressType.IPV6_ADDRESS, "sip_uri": RedirectAddressType.SIP_URI}
LIMIT = ResultCode.DIAMETER_CREDIT_LIMIT_REACHED
Budget = tuple[Decimal, Mapping[str, Decimal], int]  # a prepaid balance, period counters, account version


@dataclass
class GySession:
    """One Diameter credit-control session: in memory, and in Redis after every request answered
    (``state``; quota.credit), so a restarted jetd takes it up at its next request."""

    session_id: str
    account: str
    user: str
    realm: str
    peer_host: str
    peer_realm: str
    started: int
    seen: float = 0.0  # arrival of the last request (session supervision)
    counters: dict[int, dict[str, int]] = field(default_factory=dict)  # cumulative, per rating group
    exhausted: set[int] = field(default_factory=set)  # rating groups given their final units
    held: set[int] = field(default_factory=set)  # rating groups with a grant held in Redis
    number: int = 0  # the CC-Request-Number of the last request applied
    a_number: str = ""  # a call's numbers (IMS-Information of the CCR-Initial), for its price
    b_number: str = ""

    @property
    def nas(self) -> str:
        return f"diameter:{self.peer_host}"

    def hold_id(self, rg: int) -> str:
        return f"{self.session_id}#{rg}"

    def state(self) -> bytes:
        packed: bytes = msgpack.packb(
            {"v": 1, "account": self.account, "user": self.user, "realm": self.realm,
             "peer_host": self.peer_host, "peer_realm": self.peer_realm, "started": self.started,
             "seen": self.seen, "counters": self.counters, "exhausted": sorted(self.exhausted),
             "held": sorted(self.held), "number": self.number, "a": self.a_number, "b": self.b_number},
            use_bin_type=True)
        return packed

    @classmethod
    def from_state(cls, session_id: str, state: bytes) -> GySession:
        s = msgpack.unpackb(state, raw=False, strict_map_key=False)
        return cls(session_id, s["account"], s["user"], s["realm"], s["peer_host"], s["peer_realm"],
                   s["started"], s["seen"], {int(rg): dict(c) for rg, c in s["counters"].items()},
                   set(s["exhausted"]), set(s["held"]), s.get("number", 0), s.get("a", ""), s.get("b", ""))


@dataclass(frozen=True)
class Answer:
    result: int
    grants: tuple[ServiceGrant, ...] = ()
    single: ServiceGrant | None = None  # a single-service gateway's grant (top-level AVPs)


class CreditControl:
    def __init__(self, app: App, node: LocalNode) -> None:
        self.app = app
        self.node = node
        self.server: DiameterServer | None = None
        self.sessions: dict[str, GySession] = {}
        self.classes = rating_group_classes(app.settings.diameter.rating_groups)
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
                                validity_time=single.validity_time, final_unit=single.final_unit)
            else:
                cca = build_cca(self.node, request, answer.result, answer.grants)
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

    @property
    def _final_unit(self) -> FinalUnit:
        """``[diameter] final_unit_action``: terminate, or redirect to ``redirect_address``."""
        s = self.app.settings.diameter
        if s.final_unit_action == "redirect":
            return FinalUnit(FinalUnitAction.REDIRECT, REDIRECT_TYPES[s.redirect_address_type],
                             s.redirect_address)
        return FinalUnit(FinalUnitAction.TERMINATE)

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

    @staticmethod
    def _rg(service: ServiceRequest) -> int:
        return SINGLE if service.rating_group is None else service.rating_group

    # --- CCR-Initial / Update / Terminate -----------------------------------------------------

    async def _initial(self, ccr: CreditControlRequest, peer: PeerInfo, now: int) -> Answer:
        admitted = await self._admitted(ccr, now)
        if isinstance(admitted, Answer):
            return admitted
        account, realm, plan = admitted
        session = GySession(ccr.session_id, str(account.id), account.username, realm, peer.origin_host,
                            peer.origin_realm, now, time.time(), number=ccr.request_number,
                            a_number=party_number(ccr.calling_party), b_number=party_number(ccr.called_party))
        self.sessions[ccr.session_id] = session
        answer = await self._grant(session, plan, self._services(ccr), now, exhausted=())
        await self._keep(session, new=True)
        return answer

    async def _update(self, session: GySession, ccr: CreditControlRequest, now: int, *,
                      repeated: bool = False) -> Answer:
        """Commit the usage reported (not a ``repeated`` request's, applied already) and grant more."""
        account, plan = self._account_plan(session, now)
        services = self._services(ccr)
        if account is None or account.status != "active":
            if not repeated:
                await self._commit(session, plan, services, now, final=False)
            return Answer(ResultCode.DIAMETER_END_USER_SERVICE_DENIED)
        if plan is None:
            return Answer(ResultCode.DIAMETER_RATING_FAILED)
        results = [] if repeated else await self._commit(session, plan, services, now, final=False)
        exhausted = tuple(e for r in results for e in r.exhausted)
        return await self._grant(session, plan, services, now, exhausted=exhausted)

    async def _terminate(self, session: GySession, ccr: CreditControlRequest, now: int, *,
                         repeated: bool = False) -> Answer:
        _, plan = self._account_plan(session, now)
        services = [] if repeated else list(self._services(ccr))  # closed on the counters applied
        reported = {self._rg(s) for s in services}
        # Every rating group the session used is closed, reported now or not.
        services += [ServiceRequest(None if rg == SINGLE else rg) for rg in session.counters
                     if rg not in reported]
        await self._commit(session, plan, services, now, final=True, cause=str(ccr.termination_cause or ""))
        await self._unhold(session, list(session.held))
        await self._forget(session)
        return Answer(OK)

    async def _unhold(self, session: GySession, groups: Sequence[int]) -> None:
        held = [rg for rg in groups if rg in session.held]
        store = self.app.services.get("quota")
        if store is not None and held:  # without the store the holds expire by themselves
            await store.unhold(session.account, [session.hold_id(rg) for rg in held])
        session.held.difference_update(held)

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
            rg = self._rg(service)
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
        await self._unhold(session, list(totals))  # reported: the grant's hold is spent
        return results

    def _fired(self, result: ApplyResult, plan: Plan, record: AccountingRecord) -> None:
        """Bundle and prepaid-balance thresholds crossed by this usage (once per period, whichever
        protocol crossed them): counted, logged and raised as events for the hooks, as RADIUS
        accounting does. The gateway itself is steered by the grants (Final-Unit-Indication), not
        by CoA."""
        for c in crossed(plan, datetime.fromtimestamp(record.now, UTC), result.fired):
            announce(self.app, record, plan, c, log, protocol="diameter")

    async def _grant(self, session: GySession, plan: Plan, services: Sequence[ServiceRequest], now: int,
                     exhausted: Sequence[str]) -> Answer:
        wanted = [s for s in services if s.requested is not None]
        if not wanted:
            return Answer(OK, tuple(ServiceGrant(s.rating_group, OK) for s in services
                                    if s.rating_group is not None))
        settings = self.app.settings.diameter
        at = datetime.fromtimestamp(now, UTC)
        octets = settings.grant_octets
        holds: dict[int, Hold] = {}
        timed = {self._rg(s) for s in wanted if wants_time(s.requested)}  # CC-Time asked: seconds
        # a bundle that blocks data caps the octet grants; a used-up prepaid balance stops them
        if "balance" in exhausted or blocking_allowance(plan, {}, at) is not None:
            holds = await self._hold(session, [self._rg(s) for s in wanted if self._rg(s) not in timed], plan,
                                     at, octets, zero="balance" in exhausted)
        # a prepaid balance caps them at what it pays for (priced as the usage will be)
        budget = await self._balance(session) if plan.prepaid is not None and "balance" not in exhausted \
            else None
        grants, refused = [], []
        for service in wanted:
            rg, final_unit = self._rg(service), None
            size = settings.grant_seconds if rg in timed else octets
            if rg in timed and "balance" in exhausted:
                grants.append(ServiceGrant(service.rating_group, LIMIT))
                session.exhausted.add(rg)
                continue
            pricing = self._pricing(session, plan, at, rg, timed=rg in timed)
            try:  # a call to a destination the plan has no price for is refused now, not at its end
                if rg in timed:
                    pricing({})(size)
            except RatingError as exc:
                log.info("no price for %s on %s: %s", session.session_id, plan.name, exc)
                grants.append(ServiceGrant(service.rating_group, ResultCode.DIAMETER_RATING_FAILED))
                continue
            held = holds.get(rg)
            if held is not None:
                if held.granted <= 0:
                    grants.append(ServiceGrant(service.rating_group, LIMIT))
                    session.exhausted.add(rg)
                    continue
                if held.left <= octets:
                    # RFC 4006 §5.6.1: the last units, and what to do when they are used up.
                    size, final_unit = held.granted, self._final_unit
                    session.exhausted.add(rg)
            if budget is not None:
                paid, last, budget = await self._pay(session, rg, pricing, size, budget)
                if paid <= 0:
                    grants.append(ServiceGrant(service.rating_group, LIMIT))
                    session.exhausted.add(rg)
                    refused.append(rg)
                    continue
                if last:  # the balance's last units: the Final-Unit-Indication
                    size, final_unit = paid, self._final_unit
                    session.exhausted.add(rg)
                size = min(size, paid)
            units = ServiceUnits(time=size) if rg in timed else ServiceUnits(total_octets=size)
            grants.append(ServiceGrant(service.rating_group, OK, units, validity_time=settings.validity_time,
                                       final_unit=final_unit))
        await self._unhold(session, refused)  # nothing granted: whatever they held is given back
        codes = {g.result_code for g in grants}  # the request's: every MSCC's if they agree
        result: int = OK
        if len(codes) == 1 and (code := codes.pop()) is not None:
            result = code
        if services and services[0].rating_group is None:
            return Answer(result, single=grants[0] if grants[0].granted is not None else None)
        return Answer(result, tuple(grants))

    async def _balance(self, session: GySession) -> Budget:
        """The account's prepaid balance and period counters, and the account version they were read
        at (none yet: zero, nothing used)."""
        try:
            snap = await self.app.services["quota"].read(session.account)
        except AccountNotFound:
            return Decimal(0), {}, 0
        return snap.balance, snap.counters, snap.version

    def _pricing(self, session: GySession, plan: Plan, at: datetime, rg: int, *, timed: bool
                 ) -> Callable[[Mapping[str, Decimal]], Price]:
        """How a grant of this rating group is priced, given the period counters: octets of its data
        class, or seconds of the call (the numbers of its CCR-Initial) or of timed use."""
        if not timed:
            attributes = class_attributes(plan, at, self.classes.get(rg))
            return lambda counters: data_price(plan, at, attributes, counters)
        used = session.counters.get(rg, {}).get("time", 0)
        started = datetime.fromtimestamp(session.started, UTC)
        return lambda counters: seconds_price(plan, at, counters, started=started, used=used,
                                              a_number=session.a_number, b_number=session.b_number)

    async def _pay(self, session: GySession, rg: int, pricing: Callable[[Mapping[str, Decimal]], Price],
                   units: int, budget: Budget) -> tuple[int, bool, Budget]:
        """Hold against the prepaid balance what up to ``units`` cost, less what the account's other
        grants hold (whichever jetd gave them). Returns the units it pays for, whether they are the
        balance's last (Final-Unit-Indication), and the balance as read. Usage applied between the
        read and the hold moves the account's version: read again. Other grants holding part of the
        balance make a smaller grant, not a final one: what they do not use comes back."""
        quota = self.app.services["quota"]
        seen = int(time.time())
        expires = seen + self.app.settings.diameter.validity_time + HOLD_GRACE
        held: Hold | None = None
        for attempt in range(HOLD_RETRIES):
            balance, counters, version = budget
            price_of_units = pricing(counters)
            paid, price = affordable(price_of_units, balance, units)
            wanted = micro_up(price)
            check = version if attempt < HOLD_RETRIES - 1 else None  # the last try always holds
            held = await quota.hold(session.account, session.hold_id(rg), wanted, micro_down(balance),
                                    expires, seen, check, money=True)
            if held is not None:
                break
            budget = await self._balance(session)
        assert held is not None
        last = paid < units
        if held.granted < wanted:  # other grants hold part of it: the rest pays for fewer units
            paid, _ = affordable(price_of_units, Decimal(held.granted) / MICRO, paid)
        if held.granted:
            session.held.add(rg)
        return paid, last, budget

    async def _hold(self, session: GySession, groups: Sequence[int], plan: Plan, at: datetime, octets: int,
                    *, zero: bool) -> dict[int, Hold]:
        """Hold up to ``octets`` for each rating group in Redis: what the blocking bundles have left
        (from the period counters, read once) less the account's other holds, whichever jetd gave
        them. Usage applied between the read and a hold moves the account's version: read again."""
        quota = self.app.services["quota"]
        seen = time.time()
        expires = int(seen + self.app.settings.diameter.validity_time + HOLD_GRACE)
        left, version = await self._left(session, plan, at, octets, zero)
        out = {}
        for rg in groups:
            for attempt in range(HOLD_RETRIES):
                check = version if attempt < HOLD_RETRIES - 1 else None  # the last try always holds
                held: Hold | None = await quota.hold(session.account, session.hold_id(rg), octets, left,
                                                     expires, int(seen), check)
                if held is not None:
                    break
                left, version = await self._left(session, plan, at, octets, zero)
            assert held is not None
            out[rg] = held
            if held.granted:
                session.held.add(rg)
            else:  # the function dropped this group's hold
                session.held.discard(rg)
        return out

    async def _left(self, session: GySession, plan: Plan, at: datetime, octets: int,
                    zero: bool) -> tuple[int, int | None]:
        """What the blocking bundles have left before holds, and the account version it was read at."""
        if zero:  # the prepaid balance is used up: nothing, whatever the counters say
            return 0, None
        try:
            snap = await self.app.services["quota"].read(session.account)
            counters, version = snap.counters, snap.version
        except AccountNotFound:  # no usage yet: the quota state is made by the first report
            counters, version = {}, 0
        left = blocking_allowance(plan, counters, at)
        return (octets if left is None else left), version

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
        record = AccountingRecord(account=str(account.id), nas=f"diameter:{peer.origin_host}",
                                  session_id=ccr.session_id, kind=Kind.STOP, now=now,
                                  counters={"events": events}, realm=realm, user=account.username)
        result = await self.radius.accounting.apply(record, plan, CallContext())
        if "balance" in result.exhausted:
            return Answer(LIMIT)
        return Answer(OK, single=ServiceGrant(None, OK, ServiceUnits(service_specific_units=events)))

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
        return list(await asyncio.gather(*(
            self._send(session, build_rar(self.node, session_id=session.session_id,
                                          destination_host=session.peer_host,
                                          destination_realm=session.peer_realm), "rar")
            for session in sessions)))

    async def abort(self, account: str, *, here_only: bool = False) -> list[dict[str, Any]]:
        """ASR to the gateway of each of the account's sessions (the account was suspended)."""
        return list(await asyncio.gather(*(
            self._send(session, build_asr(self.node, session_id=session.session_id,
                                          destination_host=session.peer_host,
                                          destination_realm=session.peer_realm), "asr")
            for session in await self._reachable(account, here_only))))

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
            await self._unhold(session, list(session.held))
            await self._forget(session)
        return len(gone)
