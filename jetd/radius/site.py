"""The RADIUS listeners as sites: authentication and accounting ports."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from jetd.loading import Loaded
from jetd.radius.metrics import ANSWERS, DROPPED
from jetd.radius.service import RadiusService
from jetd.settings import Settings
from protocols.radius.server import (
    ACCT_CODES,
    AUTH_CODES,
    ClientConfig,
    ClientTable,
    Handler,
    RadiusServer,
    start_server,
)

if TYPE_CHECKING:
    from jetd.app import App

log = logging.getLogger("jetd.radius")


def client_table(settings: Settings) -> ClientTable:
    return ClientTable(
        ClientConfig(c.name, c.address, c.secret.encode(), c.require_message_authenticator)
        for c in settings.radius.clients
    )


def _count_drop() -> Callable[[str], None]:
    children: dict[str, Callable[[], None]] = {}

    def on_drop(reason: str) -> None:
        inc = children.get(reason)
        if inc is None:
            inc = children[reason] = DROPPED.labels(reason=reason).inc
        inc()

    return on_drop


def radius_service(app: App) -> RadiusService:
    """One service per process, shared by the two listeners."""
    service: RadiusService | None = app.services.get("radius")
    if service is None:
        service = app.services["radius"] = RadiusService(app)
    return service


class _RadiusListener:
    kind = ""
    codes: frozenset[int] = frozenset()
    # How requests spread over the workers (protocols.radius.reuseport).
    spread = "identifier"

    def __init__(self, app: App, port: int) -> None:
        self.app = app
        self.host = app.settings.radius.listen
        self.port = port
        self.server: RadiusServer | None = None
        self.name = f"radius-{self.kind}"

    @property
    def address(self) -> str:
        return f"udp://{self.host}:{self.port}"

    def handler(self, service: RadiusService) -> Handler:
        raise NotImplementedError

    async def start(self) -> None:
        s = self.app.settings.radius
        self.server = await start_server(
            self.host, self.port, client_table(self.app.settings), self.handler(radius_service(self.app)),
            on_drop=_count_drop(), codes=self.codes, max_in_flight=s.max_in_flight,
            duplicate_window=s.duplicate_window, spread_over=s.workers, spread_by=self.spread,
        )
        self.port = self.server.address[1]
        self.app.reload_hooks.append(self._on_reload)
        ANSWERS.attach()

    async def _on_reload(self, old: Loaded, new: Loaded) -> None:
        if self.server is not None:
            self.server.protocol.set_clients(client_table(new.settings))

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.close(drain=True)
            await ANSWERS.detach()


class RadiusAuthSite(_RadiusListener):
    kind = "auth"
    codes = AUTH_CODES
    spread = "identifier"  # one NAS's requests over every worker

    def __init__(self, app: App) -> None:
        super().__init__(app, app.settings.radius.auth_port)

    def handler(self, service: RadiusService) -> Handler:
        return service.on_auth


class RadiusAcctSite(_RadiusListener):
    kind = "acct"
    codes = ACCT_CODES
    # A subscriber's records stay with one worker, whose quota snapshot then stays current (by
    # Identifier each interim met a stale snapshot and re-read: 3.2k instead of 5.8k records/s;
    # by the kernel's 4-tuple hash a NAS sending from one port loads a single worker).
    spread = "user_name"

    def __init__(self, app: App) -> None:
        super().__init__(app, app.settings.radius.acct_port)

    def handler(self, service: RadiusService) -> Handler:
        return service.on_acct
