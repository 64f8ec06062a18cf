"""The provisioning service inside jetd: the store (migrated at start), the account
cache the RADIUS path reads, and the /v1 API mounted into the API site.

Start order matters: this site starts before the protocol listeners (they read the
cache) and before ApiSite (it mounts /v1 into the web app ApiSite builds).
After start:

- ``app.services["provisioning"]``: the ``provisioning.service.Service``
- ``app.services["account_cache"]``: the ``provisioning.cache.AccountCache``
  (``cache.get(realm, username) -> AuthAccount | None``)
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from invoicing.api import INVOICE_ROUTES
from jetd.quota_api import quota_routes
from provisioning.api import mount_api
from provisioning.api.routes import ROUTES
from provisioning.base import utc_now
from provisioning.cache import AccountCache
from provisioning.db import make_engine
from provisioning.errors import DatabaseTooNew
from provisioning.service import Service

if TYPE_CHECKING:
    from jetd.app import App

log = logging.getLogger("jetd.provisioning")


def make_service(app: App) -> Service:
    """A Service on ``database.url`` whose plan check asks the pricebook in force now."""

    def plan_exists(realm: str, plan: str) -> bool:
        # read app.loaded at each call: a reload swaps it
        catalog = app.loaded.parts.get("catalog")
        return catalog is None or catalog.find_plan(realm, plan) is not None

    return Service(make_engine(app.settings.database.url), clock=utc_now, plan_exists=plan_exists)


class ProvisioningSite:
    """Service + account cache (+ the /v1 API when ``serve_api``).

    The main process: ``ProvisioningSite(app)`` (migrates, mounts /v1). A RADIUS worker
    process (``radius.workers > 1``) wants only the cache:
    ``ProvisioningSite(app, serve_api=False, migrate=False)``; it follows the same outbox,
    so every worker sees every change within ``poll_interval``.
    """

    name = "provisioning"

    def __init__(self, app: App, *, serve_api: bool = True, migrate: bool = True,
                 poll_interval: float = 1.0) -> None:
        self.app = app
        self.serve_api = serve_api
        self.migrate = migrate
        self.poll_interval = poll_interval
        self.service: Service | None = None
        self.cache: AccountCache | None = None

    @property
    def address(self) -> str:
        return ""

    async def start(self) -> None:
        service = make_service(self.app)
        try:
            before, after = await service.start(migrate=self.migrate)
        except DatabaseTooNew as exc:
            log.error("cannot start: %s", exc)
            await service.close()
            raise
        except BaseException:
            await service.close()
            raise
        if before != after:
            log.info("database migrated from %s to %s", before or "empty", after)
        cache = AccountCache(service, poll_interval=self.poll_interval)
        await cache.start()
        log.info("account cache loaded: %d accounts", len(cache))
        self.service, self.cache = service, cache
        self.app.services["provisioning"] = service
        self.app.services["account_cache"] = cache
        if self.serve_api:
            # with /v1/invoices (jet-invoicer's) and the real-time quota (Redis, jetd's)
            mount = mount_api(service, [*ROUTES, *INVOICE_ROUTES, *quota_routes(self.app)])
            self.app.services.setdefault("api_mounts", []).append(mount)

    async def stop(self) -> None:
        if self.cache is not None:
            await self.cache.stop()
        if self.service is not None:
            await self.service.close()
        self.app.services.pop("provisioning", None)
        self.app.services.pop("account_cache", None)
