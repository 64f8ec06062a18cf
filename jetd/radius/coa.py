"""Change-of-Authorization and Disconnect (RFC 5176) sent to the NAS that carries a session."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter

from protocols.radius.client import DynamicAuthResult, Endpoint, RadiusClient
from protocols.radius.errors import ClientError
from protocols.radius.packet import Attr, Attribute

if TYPE_CHECKING:
    from jetd.app import App

log = logging.getLogger("jetd.coa")

COA_REQUESTS = Counter("jet_coa_requests_total", "CoA and Disconnect requests sent, by kind and result.",
                       ["kind", "result"])


def identify(user: str, session_id: str) -> list[Attribute]:
    """The attributes that name a session to its NAS in a CoA or Disconnect-Request (RFC 5176 §3)."""
    return [(int(Attr.USER_NAME), user.encode()), (int(Attr.ACCT_SESSION_ID), session_id.encode())]


class DynamicAuth:
    """One client socket per process; requests are sent as background tasks when fired
    from the accounting path, or awaited from jetctl."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._client: RadiusClient | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def client(self) -> RadiusClient:
        """The process's RADIUS client socket (CoA, Disconnect, proxying)."""
        if self._client is None:
            self._client = await RadiusClient.open()
        return self._client

    def endpoint(self, nas_address: str) -> Endpoint | None:
        """The NAS's CoA port and secret, from the client entry that covers its address; None when
        none does, or it is no address (a Diameter session's "NAS" is its gateway's Origin-Host)."""
        import ipaddress

        try:
            address = ipaddress.ip_address(nas_address)
        except ValueError:
            return None
        best = None
        for c in self.app.settings.radius.clients:
            if address in c.address and (best is None or c.address.prefixlen > best.address.prefixlen):
                best = c
        if best is None:
            return None
        return Endpoint(nas_address, best.coa_port, best.secret.encode())

    async def send(self, kind: str, nas_address: str, attributes: Iterable[Attribute]) -> DynamicAuthResult:
        endpoint = self.endpoint(nas_address)
        if endpoint is None:
            COA_REQUESTS.labels(kind=kind, result="no_client").inc()
            raise ClientError(f"no [[radius.clients]] entry covers NAS {nas_address}")
        client = await self.client()
        try:
            if kind == "coa":
                result = await client.coa(endpoint, attributes)
            else:
                result = await client.disconnect(endpoint, attributes)
        except ClientError:
            COA_REQUESTS.labels(kind=kind, result="timeout").inc()
            raise
        COA_REQUESTS.labels(kind=kind, result="ack" if result.acked else "nak").inc()
        if not result.acked:
            log.warning("%s NAK from %s: Error-Cause %s", kind, nas_address, result.error_cause)
        return result

    def fire(self, kind: str, nas_address: str, attributes: Iterable[Attribute]) -> None:
        """Send without waiting (from the accounting path); failures are logged and counted."""
        task = asyncio.get_running_loop().create_task(self._fire(kind, nas_address, list(attributes)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fire(self, kind: str, nas_address: str, attributes: list[Attribute]) -> None:
        try:
            await self.send(kind, nas_address, attributes)
        except ClientError as exc:
            log.warning("%s to %s failed: %s", kind, nas_address, exc)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            self._client.close()
