"""GET /v1/accounts/{id}/quota: the real-time figures NAS and gateways are answered from.

The period counters, bundles, prepaid balance or running charges, open sessions and what
Diameter grants hold, from Redis, and what a RADIUS login would be answered now (what
``jetctl account show`` prints under "real time"). Mounted into jetd's provisioning API with
the same tokens: a realm token sees only its realm's accounts (another realm's: 404). Redis
unreachable: 503.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from jetd.commands.quota import quota_overview
from provisioning.api.app import ApiError, Call, Route
from provisioning.api.schemas import Out

if TYPE_CHECKING:
    from jetd.app import App


class BundleOut(Out):
    name: str
    kind: str
    size: str
    used: str
    remaining: str
    exhausted: bool
    action: str


class HeldOut(Out):
    octets: int
    seconds: int
    money: str
    spend: str = "0"  # against the money bundles that block


class LoginOut(Out):
    accept: bool
    reason: str | None = None  # refused: why (balance_exhausted, quota_exhausted)
    message: str | None = None  # refused: the Reply-Message
    reply: dict[str, str] | None = None  # the plan's reply attributes as throttles leave them
    session_timeout: int | None = None
    volume_octets: int | None = None  # the volume limit the NAS is given
    volume_counts: str | None = None  # both, in (from the subscriber), out (to the subscriber)


class QuotaOut(Out):
    account_id: int
    period: str | None  # None: no usage or top-up yet
    mode: str | None  # prepaid | postpaid
    currency: str | None = None
    counters: dict[str, str]
    bundles: list[BundleOut]
    charges: str
    balance: str
    open_sessions: int
    held: HeldOut | None = None  # granted to Diameter sessions, not reported yet
    login: LoginOut | None = None  # None: no plan today


def quota_routes(app: App) -> list[Route]:
    async def quota(c: Call) -> tuple[int, BaseModel]:
        account = await c.service.get_account(c.actor, c.path["id"])  # 404 for another realm's account
        plan = await c.service.plan_on(c.actor, account.id)
        figures = await quota_overview(app, account.id, account.realm, plan)
        if not figures.pop("available"):
            raise ApiError(503, "unavailable", str(figures.get("reason", "the quota store is unavailable")))
        return 200, QuotaOut.model_validate({"account_id": account.id, **figures})

    return [Route("GET", "/accounts/{id}/quota", quota, "Real-time quota: bundles, balance, sessions, login",
                  QuotaOut, tag="ledger", path_types={"id": "int"})]
