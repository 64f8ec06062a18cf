"""The provisioning service: every rule lives behind these methods.

The HTTP API, jetctl's control commands and (later) hooks call a ``Service``; none of
them touches the tables. Time comes from the injected ``clock``; whether a plan exists
from the injected ``plan_exists(realm, plan)``.

    service = Service(make_engine(url), clock=utc_now, plan_exists=catalog_lookup)
    await service.start()          # migrate (refusing an unknown newer schema)
    account = await service.create_account(OPERATOR, NewAccount("alice", password="pw", plan="home"))
"""

from __future__ import annotations

from provisioning.access import AccessOps
from provisioning.accounts import AccountOps
from provisioning.migrate import require_head, upgrade
from provisioning.money import LedgerOps
from provisioning.realms import RealmOps


class Service(RealmOps, AccountOps, LedgerOps, AccessOps):
    async def start(self, *, migrate: bool = True) -> tuple[str | None, str]:
        """Bring the schema to this release's head; return (before, after).
        With ``migrate=False`` only check that it is there already (worker processes)."""
        if not migrate:
            head = await require_head(self.engine)
            return head, head
        return await upgrade(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()
