"""The Diameter Gy/Ro listener as a site: TCP 3868, the configured gateways, credit control."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from jetd.diameter.metrics import ERRORS
from jetd.diameter.service import CreditControl
from protocols.diameter import DiameterServer, LocalNode, PeerConfig
from quota.errors import QuotaError

if TYPE_CHECKING:
    from jetd.app import App

log = logging.getLogger("jetd.diameter")


def _count_error(reason: str) -> None:
    ERRORS.labels(reason=reason).inc()


class DiameterSite:
    """In jetd; with ``radius.workers > 1`` in worker 0, or with ``diameter.all_workers`` in every
    worker on one port (SO_REUSEPORT: each gateway connection is served by one worker). A worker
    keeps the credit-control sessions it serves in memory and in Redis (grants are held in Redis);
    the main process reaches them through ``RemoteDiameter``."""

    name = "diameter"

    def __init__(self, app: App) -> None:
        self.app = app
        s = app.settings.diameter
        self.host = s.listen
        self.port = s.port
        self.server: DiameterServer | None = None
        self.service: CreditControl | None = None
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        return f"tcp://{self.host}:{self.port}" if self.server is not None else ""

    async def start(self) -> None:
        s = self.app.settings.diameter
        if self.app.worker not in (None, 0) and not s.all_workers:
            return
        node = LocalNode(origin_host=s.origin_host, origin_realm=s.origin_realm,
                         host_ip_addresses=(s.host_ip_address,))
        peers = [PeerConfig(p.origin_host, p.address) for p in s.peers]
        self.service = CreditControl(self.app, node)
        self.server = DiameterServer(node, peers, self.service.handle, on_error=_count_error)
        shared = self.app.worker is not None and s.all_workers
        await self.server.start(self.host, self.port, reuse_port=shared)
        self.port = self.server.port
        self.service.server = self.server
        self.app.services["diameter"] = self.service
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="diameter-sweep")

    async def _sweep(self) -> None:
        """Session supervision: sessions whose gateway went quiet are forgotten, their holds dropped."""
        interval = min(max(self.app.settings.diameter.validity_time / 4, 1.0), 30.0)
        while True:
            await asyncio.sleep(interval)
            if self.service is not None:
                try:
                    gone = await self.service.sweep(time.time())
                except QuotaError as exc:  # Redis away: the holds expire by themselves
                    log.warning("Diameter session sweep: %s", exc)
                    continue
                if gone:
                    log.info("forgot %d Diameter sessions not heard of for 2 x Validity-Time", gone)

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self.server is not None:
            await self.server.stop()
        self.app.services.pop("diameter", None)
