"""What an Access-Accept lets a session use, from the account's real-time state (pure).

A bundle that blocks when used up, and a prepaid balance that blocks at zero, are enforced by
the NAS as well as by the accounting that follows: the login gets what is left of them as
Session-Timeout (timed use) and as a volume limit (data, in the vendor's attributes, see
``replies.volume_attributes``), so the session ends when they run out rather than an interim
later. What Diameter grants hold and have not reported yet counts as used. A bundle used up
that throttles puts its reply attributes in force; one that blocks, or a balance at zero that
blocks, refuses the login.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial

from jetd.charging import prepaid_octets, prepaid_seconds
from quota.model import Held
from rating import Bundle, Plan, RatingError, bundle_state

NOTHING_HELD = Held(0, 0, Decimal(0))


@dataclass(frozen=True)
class Login:
    """An Access-Accept's terms, or why there is none (``refused``: reason, Reply-Message)."""

    reply: Mapping[str, str]
    session_timeout: int | None = None
    octets: int | None = None  # the volume limit, counted as the plan's data meter counts
    direction: str = "both"  # which octets: both, in (from the subscriber), out (to the subscriber)
    refused: tuple[str, str] | None = None


def held_pools(plan: Plan, at: datetime, balance: Decimal) -> tuple[str, ...]:
    """Which Diameter holds the login's terms depend on (the others need not be read)."""
    pools = ["money"] if plan.prepaid is not None and balance > 0 else []
    pools += [pool for b in plan.terms_at(at).bundles if (pool := _hold_pool(b)) is not None]
    return tuple(dict.fromkeys(pools))


def _hold_pool(bundle: Bundle) -> str | None:
    """The Diameter holds a login's limit from ``bundle`` is less of: a bundle that blocks and that
    a login draws on (data, timed use); None for any other."""
    if bundle.on_exhausted != "block":
        return None
    if bundle.kind == "volume" and "data" in bundle.meters:
        return "octets"
    if bundle.kind == "time" and "time" in bundle.meters:
        return "seconds"
    if bundle.kind == "money" and {"data", "time"} & set(bundle.meters):
        return "spend"
    return None


def login_terms(plan: Plan, at: datetime, counters: Mapping[str, Decimal], balance: Decimal,
                held: Held = NOTHING_HELD) -> Login:
    """The login's terms under ``plan`` at ``at``, given the period ``counters``, the prepaid
    ``balance`` (none yet: zero) and what Diameter grants ``held``."""
    terms = plan.terms_at(at)
    reply: Mapping[str, str] = terms.reply
    data = terms.meters.get("data")
    direction = data.count if data is not None else "both"
    seconds: int | None = None
    octets: int | None = None
    prepaid = plan.prepaid
    if prepaid is not None:
        balance -= held.money
        if balance <= 0 and prepaid.on_exhausted == "block":
            return Login(reply, refused=("balance_exhausted", "Prepaid balance used up"))
        if balance <= 0 and prepaid.on_exhausted == "throttle":
            reply = {**reply, **prepaid.reply}
        elif balance > 0 and prepaid.on_exhausted == "block":
            # use paid from the balance: the NAS ends the session when the balance runs out (usage
            # the plan cannot price without the record's attributes sets no limit: accounting stops it)
            if "time" in terms.meters:
                seconds = _or_none(lambda: prepaid_seconds(plan, at, counters, balance))
            if data is not None:
                octets = _or_none(lambda: prepaid_octets(plan, at, counters, balance))
                if octets == 0:  # not one more octet paid for (0 would mean "no limit" to a NAS)
                    return Login(reply, refused=("balance_exhausted", "Prepaid balance used up"))
    bundles = {b.name: b for b in terms.bundles}
    for state in bundle_state(plan, counters, at):
        if state.exhausted and state.action == "throttle":
            reply = {**reply, **state.reply}
        if state.action != "block":
            continue
        bundle = bundles[state.name]
        pool = _hold_pool(bundle)
        if state.kind == "money":
            money = state.remaining - (held.spend if pool == "spend" else 0)
            if money <= 0:
                return Login(reply, refused=("quota_exhausted", f"The {state.name} allowance is used up"))
            # what is left pays for the use at the plan's prices (rated as if it were spent: that is
            # what it draws)
            listed = {**counters, bundle.counter: bundle.size}
            if data is not None and "data" in bundle.meters:
                octets = _least(octets, _or_none(partial(prepaid_octets, plan, at, listed, money)))
            if "time" in terms.meters and "time" in bundle.meters:
                seconds = _least(seconds, _or_none(partial(prepaid_seconds, plan, at, listed, money)))
            if octets == 0:  # not one more octet paid for (0 would mean "no limit" to a NAS)
                return Login(reply, refused=("quota_exhausted", f"The {state.name} allowance is used up"))
            continue
        left = int(state.remaining)
        if pool == "octets":
            left -= held.octets
            octets = _least(octets, left)
        elif pool == "seconds":
            left -= held.seconds
            seconds = _least(seconds, left)
        if left <= 0:
            return Login(reply, refused=("quota_exhausted", f"The {state.name} allowance is used up"))
    return Login(reply, session_timeout=seconds, octets=octets, direction=direction)


def _least(limit: int | None, other: int | None) -> int | None:
    """The tighter of two limits, None being no limit."""
    return other if limit is None else limit if other is None else min(limit, other)


def _or_none(limit: Callable[[], int | None]) -> int | None:
    try:
        return limit()
    except RatingError:  # e.g. a data class priced only by the attribute a NAS sends
        return None
