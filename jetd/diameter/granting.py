"""What a credit-control request is granted (RFC 4006 §5.1.2, §5.6): octets, or seconds when the
gateway asks for time; capped by the plan's blocking data bundles less the grants held for the
account's other sessions, and on a prepaid plan by what the balance pays for less what the other
grants cost. Holds live in Redis with the quota state (``jet_hold``), so every jetd sharing it
counts them, and they expire on their own (Validity-Time plus ``HOLD_GRACE``). The balance's or
the bundle's last units come with the Final-Unit-Indication, then 4012.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import partial
from typing import TYPE_CHECKING

from jetd.charging import Price, affordable, blocking_allowance, data_price
from jetd.diameter.grants import (
    DATA,
    TEXTS,
    TIMED,
    class_attributes,
    covering,
    events_price,
    seconds_price,
    spending_caps,
    spent,
    wants_time,
)
from jetd.diameter.session import SINGLE, Answer, GySession, rating_group
from protocols.diameter import (
    FinalUnit,
    FinalUnitAction,
    RedirectAddressType,
    ResultCode,
    ServiceGrant,
    ServiceRequest,
    ServiceUnits,
)
from quota.errors import AccountNotFound
from quota.model import Held, Hold, from_micros
from quota.protocol import micros_rounded
from rating import RatingError

if TYPE_CHECKING:
    from jetd.app import App
    from rating import Bundle, Plan

log = logging.getLogger("jetd.diameter")

HOLD_GRACE = 30  # seconds past Validity-Time before a grant not reported is given back
HOLD_RETRIES = 5  # re-reads of the counters when usage moved them between the read and the hold
OK = ResultCode.DIAMETER_SUCCESS
LIMIT = ResultCode.DIAMETER_CREDIT_LIMIT_REACHED
REDIRECT_TYPES = {"url": RedirectAddressType.URL, "ipv4": RedirectAddressType.IPV4_ADDRESS,
                  "ipv6": RedirectAddressType.IPV6_ADDRESS, "sip_uri": RedirectAddressType.SIP_URI}
Budget = tuple[Decimal, Mapping[str, Decimal], int]  # a prepaid balance, period counters, account version
Reread = Callable[[], Awaitable[Budget]]


class Granting:
    def __init__(self, app: App, classes: Mapping[int, str]) -> None:
        self.app = app
        self.classes = classes  # Rating-Group -> the plan's data class

    @property
    def final_unit(self) -> FinalUnit:
        """``[diameter] final_unit_action``: terminate, or redirect to ``redirect_address``."""
        s = self.app.settings.diameter
        if s.final_unit_action == "redirect":
            return FinalUnit(FinalUnitAction.REDIRECT, REDIRECT_TYPES[s.redirect_address_type],
                             s.redirect_address)
        return FinalUnit(FinalUnitAction.TERMINATE)

    async def unhold(self, session: GySession, groups: Sequence[int]) -> None:
        held = [rg for rg in groups if rg in session.held]
        store = self.app.services.get("quota")
        if store is not None and held:  # without the store the holds expire by themselves
            await store.unhold(session.account, [session.hold_id(rg) for rg in held])
        session.held.difference_update(held)

    async def grant(self, session: GySession, plan: Plan, services: Sequence[ServiceRequest], now: int,
                     exhausted: Sequence[str]) -> Answer:
        wanted = [s for s in services if s.requested is not None]
        if not wanted:
            return Answer(OK, tuple(ServiceGrant(s.rating_group, OK) for s in services
                                    if s.rating_group is not None))
        settings = self.app.settings.diameter
        at = datetime.fromtimestamp(now, UTC)
        octets = settings.grant_octets
        holds: dict[int, Hold] = {}
        timed = {rating_group(s) for s in wanted if wants_time(s.requested)}  # CC-Time asked: seconds
        # a bundle that blocks data caps the octet grants, one that blocks calls or timed use the
        # seconds; a used-up prepaid balance stops them
        zero = "balance" in exhausted
        capped = []  # (seconds?, grant size, rating groups) a blocking bundle caps
        for seconds, size in ((False, octets), (True, settings.grant_seconds)):
            groups = [rg for rg in map(rating_group, wanted) if (rg in timed) == seconds]
            if groups and (zero or blocking_allowance(plan, {}, at, seconds=seconds) is not None):
                capped.append((seconds, size, groups))
        prepaid = plan.prepaid is not None and not zero
        spendable = spending_caps(plan, at)  # money bundles that block once spent
        # the period counters (and balance) the caps are computed from: read once
        snapshot = await self._balance(session) if prepaid or (capped and not zero) or spendable else None
        for seconds, size, groups in capped:
            holds.update(await self._hold(session, groups, plan, at, size, snapshot, seconds=seconds))
        # a prepaid balance caps them at what it pays for (priced as the usage will be)
        budget = snapshot if prepaid else None
        grants, refused = [], []
        for service in wanted:
            rg, final_unit = rating_group(service), None
            size = settings.grant_seconds if rg in timed else octets
            meters = TIMED if rg in timed else DATA
            caps = covering(spendable, meters)
            pricing = self._pricing(session, plan, at, rg, timed=rg in timed) \
                if rg in timed or budget is not None or caps else None
            try:  # a call to a destination the plan has no price for is refused now, not at its end
                if rg in timed and pricing is not None:
                    pricing({})(size)
            except RatingError as exc:
                log.info("no price for %s on %s: %s", session.session_id, plan.name, exc)
                grants.append(ServiceGrant(service.rating_group, ResultCode.DIAMETER_RATING_FAILED))
                refused.append(rg)
                continue
            if spent(caps, snapshot[1] if snapshot else {}, exhausted, meters):
                # a money bundle that blocks is spent (RADIUS usage may have taken it past: what
                # that used is charged at the plan's prices)
                grants.append(ServiceGrant(service.rating_group, LIMIT))
                session.exhausted.add(rg)
                refused.append(rg)
                continue
            held = holds.get(rg)
            if held is not None:
                if held.granted <= 0:
                    grants.append(ServiceGrant(service.rating_group, LIMIT))
                    session.exhausted.add(rg)
                    refused.append(rg)
                    continue
                if held.left <= size:
                    # RFC 4006 §5.6.1: the last units, and what to do when they are used up.
                    size, final_unit = held.granted, self.final_unit
                    session.exhausted.add(rg)
            # what pays for the grant: a prepaid balance; what a money bundle that blocks has left,
            # at the plan's prices (rated as if it were spent: that is what it draws). Each holds
            # its price less what the account's other grants hold; the last units come with the
            # Final-Unit-Indication, then 4012.
            payers: list[tuple[str, Callable[[Mapping[str, Decimal]], Price], Budget, Reread | None]] = []
            if budget is not None and pricing is not None:
                payers.append(("money", pricing, budget, None))
            if caps and snapshot is not None and pricing is not None:
                payers.append(("spend", partial(_listed, pricing, caps), _spend_left(caps, snapshot),
                               partial(self._spend_budget, session, caps)))
            paid = size
            for pool, price, pays, reread in payers:
                paid, last, pays = await self._pay(session, rg, price, size, pays, pool=pool, reread=reread)
                if pool == "money":
                    budget = pays
                if paid <= 0:
                    break
                if last:
                    size, final_unit = paid, self.final_unit
                    session.exhausted.add(rg)
                size = min(size, paid)
            if paid <= 0:
                grants.append(ServiceGrant(service.rating_group, LIMIT))
                session.exhausted.add(rg)
                refused.append(rg)
                continue
            units = ServiceUnits(time=size) if rg in timed else ServiceUnits(total_octets=size)
            grants.append(ServiceGrant(service.rating_group, OK, units, validity_time=settings.validity_time,
                                       final_unit=final_unit))
        await self.unhold(session, refused)  # nothing granted: whatever they held is given back
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

    async def _spend_budget(self, session: GySession, caps: Sequence[Bundle]) -> Budget:
        """What the money bundles that block have left, from the period counters read now."""
        return _spend_left(caps, await self._balance(session))

    async def price_of_events(self, session: GySession, plan: Plan, at: datetime, events: int) -> Decimal:
        """What ``events`` one-shot events cost now (after the period's counters)."""
        _, counters, _ = await self._balance(session)
        return events_price(plan, at, counters)(events)

    async def affords(self, session: GySession, plan: Plan, at: datetime, events: int) -> bool:
        """Whether the prepaid balance, less what the account's grants hold, pays for ``events``
        (a postpaid account's credit is not limited: always)."""
        if plan.prepaid is None:
            return True
        balance, counters, _ = await self._balance(session)
        held: Held = await self.app.services["quota"].holds(session.account, int(time.time()), ("money",))
        return events_price(plan, at, counters)(events) <= balance - held.money

    async def texts_barred(self, session: GySession, plan: Plan, at: datetime) -> bool:
        """Whether a money bundle over texts that blocks is spent."""
        caps = spending_caps(plan, at)
        return bool(caps) and spent(caps, (await self._balance(session))[1], (), TEXTS)

    async def hold_events(self, session: GySession, plan: Plan, at: datetime, events: int) -> bool:
        """All or nothing: hold what ``events`` cost against the prepaid balance, less what the
        account's other grants hold; False (and nothing held) when it does not pay for them all."""
        def pricing(counters: Mapping[str, Decimal]) -> Price:
            return events_price(plan, at, counters)

        paid, _, _ = await self._pay(session, SINGLE, pricing, events, await self._balance(session))
        if paid < events:
            await self.unhold(session, [SINGLE])
            return False
        return True

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
                   units: int, budget: Budget, *, pool: str = "money",
                   reread: Reread | None = None) -> tuple[int, bool, Budget]:
        """Hold against the prepaid balance (``pool`` money; or ``spend``, what the money bundles
        that block have left) what up to ``units`` cost, less what the account's other grants hold
        (whichever jetd gave them). Returns the units it pays for, whether they are the budget's
        last (Final-Unit-Indication), and the budget as read. Usage applied between the read and the
        hold moves the account's version: read again (``reread``; the balance by default). Other
        grants holding part of it make a smaller grant, not a final one: what they do not use comes
        back."""
        quota = self.app.services["quota"]
        seen = int(time.time())
        expires = seen + self.app.settings.diameter.validity_time + HOLD_GRACE
        held: Hold | None = None
        for attempt in range(HOLD_RETRIES):
            balance, counters, version = budget
            price_of_units = pricing(counters)
            paid, price = affordable(price_of_units, balance, units)
            wanted = micros_rounded(price, ROUND_CEILING)  # a grant never costs more than it holds
            check = version if attempt < HOLD_RETRIES - 1 else None  # the last try always holds
            left = micros_rounded(balance, ROUND_FLOOR)
            held = await quota.hold(session.account, session.hold_id(rg), wanted, left, expires, seen, check,
                                    pool=pool)
            if held is not None:
                break
            budget = await (reread() if reread is not None else self._balance(session))
        assert held is not None
        last = paid < units
        if held.granted < wanted:  # other grants hold part of it: the rest pays for fewer units
            paid, _ = affordable(price_of_units, from_micros(held.granted), paid)
        if held.granted:
            session.held.add(rg)
        return paid, last, budget

    async def _hold(self, session: GySession, groups: Sequence[int], plan: Plan, at: datetime, units: int,
                    snapshot: Budget | None, *, seconds: bool) -> dict[int, Hold]:
        """Hold up to ``units`` (octets, or ``seconds``) for each rating group in Redis: what the
        blocking bundles have left (from the period counters of ``snapshot``; None: the prepaid
        balance is used up, nothing is left) less the account's other holds, whichever jetd gave
        them. Usage applied between the read and a hold moves the account's version: read again. A
        call is charged only when it ends: its hold is the whole call, the seconds so far and the
        new ones; the Hold returned is the new ones'."""
        quota = self.app.services["quota"]
        seen = time.time()
        expires = int(seen + self.app.settings.diameter.validity_time + HOLD_GRACE)
        left, version = _left(plan, at, units, snapshot, seconds)
        calls = seconds and "voice" in plan.terms_at(at).meters
        out = {}
        for rg in groups:
            so_far = session.counters.get(rg, {}).get("time", 0) if calls else 0
            for attempt in range(HOLD_RETRIES):
                check = version if attempt < HOLD_RETRIES - 1 else None  # the last try always holds
                held: Hold | None = await quota.hold(session.account, session.hold_id(rg), so_far + units,
                                                     left, expires, int(seen), check,
                                                     pool="seconds" if seconds else "octets")
                if held is not None:
                    break
                left, version = _left(plan, at, units, await self._balance(session), seconds)
            assert held is not None
            out[rg] = Hold(max(held.granted - so_far, 0), held.left - so_far)
            if held.granted:
                session.held.add(rg)
        return out



def _spend_left(caps: Sequence[Bundle], budget: Budget) -> Budget:
    """``budget`` with what the money bundles ``caps`` have left (the least of them) for its money."""
    _, counters, version = budget
    left = min(b.size - counters.get(b.counter, Decimal(0)) for b in caps)
    return max(left, Decimal(0)), counters, version


def _listed(pricing: Callable[[Mapping[str, Decimal]], Price], caps: Sequence[Bundle],
            counters: Mapping[str, Decimal]) -> Price:
    """The price of the usage before the money bundles ``caps`` pay it: rated as if they were spent."""
    return pricing({**counters, **{b.counter: b.size for b in caps}})


def _left(plan: Plan, at: datetime, units: int, snapshot: Budget | None, seconds: bool
          ) -> tuple[int, int | None]:
    """What the blocking bundles have left before holds, and the account version it was read at;
    nothing (and no version to check) when the prepaid balance is used up (``snapshot`` None)."""
    if snapshot is None:
        return 0, None
    _, counters, version = snapshot
    left = blocking_allowance(plan, counters, at, seconds=seconds)
    return (units if left is None else left), version
