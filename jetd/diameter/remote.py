"""The Diameter listener as the main process sees it when a worker runs it (radius.workers > 1).

The gateways' connections, and so the RAR/ASR to them, are in worker 0; the control commands,
the top-up and the hooks run in the main process. ``RemoteDiameter`` stands in for the service
there and asks worker 0 over its control socket (jetd.control.server.worker_socket).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jetd.control.server import ask, worker_socket

if TYPE_CHECKING:
    from jetd.app import App

SERVING = 0  # the worker that runs the Diameter listener (jetd.diameter.site.DiameterSite)


class RemoteDiameter:
    def __init__(self, app: App) -> None:
        self.path = worker_socket(app.settings.control.socket, SERVING)

    async def forward(self, command: str, args: dict[str, Any]) -> Any:
        """Run a ``diameter.*`` control command in the worker and return its result."""
        return await ask(self.path, command, args)

    async def sessions_of(self, account: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self.forward("diameter.sessions", {"account": account}))["items"]
        return items

    async def reauthorize(self, account: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self.forward("diameter.rar", {"account": account}))["items"]
        return items

    async def abort(self, account: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self.forward("diameter.asr", {"account": account}))["items"]
        return items


class RemoteDiameterSite:
    """Puts ``RemoteDiameter`` in the main process's services; its address (``jetctl status``) is
    the one worker 0 listens on."""

    name = "diameter"

    def __init__(self, app: App) -> None:
        self.app = app

    @property
    def address(self) -> str:
        s = self.app.settings.diameter
        return f"tcp://{s.listen}:{s.port}"

    async def start(self) -> None:
        self.app.services["diameter"] = RemoteDiameter(self.app)

    async def stop(self) -> None:
        self.app.services.pop("diameter", None)
