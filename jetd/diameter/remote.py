"""The Diameter listener as the main process sees it when workers run it (radius.workers > 1).

Worker 0 listens on the Diameter port, or with ``diameter.all_workers`` every worker does
(SO_REUSEPORT: each gateway connection is served by one of them); each also on a control socket
of its own (jetd.control.server.worker_socket). The control commands, the top-up and the hooks
run in the main process: ``RemoteDiameter`` stands in for the service there and asks those
workers. A RAR or ASR goes out from the worker holding the gateway's connection; a session whose
gateway no worker is connected to is reported as not reached.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from jetd.control.server import ask, worker_socket

if TYPE_CHECKING:
    from jetd.app import App

log = logging.getLogger("jetd.diameter")


class RemoteDiameter:
    def __init__(self, app: App) -> None:
        s = app.settings
        serving = range(s.radius.workers) if s.diameter.all_workers else range(1)
        self.paths = [worker_socket(s.control.socket, i) for i in serving]

    async def _every_worker(self, command: str, args: dict[str, Any]) -> list[dict[str, Any]]:
        """``command``'s result from every worker that answers (one restarting does not)."""
        replies = await asyncio.gather(*(ask(path, command, args) for path in self.paths),
                                       return_exceptions=True)
        results = [r for r in replies if not isinstance(r, BaseException)]
        for path, reply in zip(self.paths, replies, strict=True):
            if isinstance(reply, BaseException):
                log.warning("%s not answered by the worker at %s: %s", command, path, reply)
                if not results:
                    raise reply
        return results

    async def sessions(self, args: dict[str, Any]) -> dict[str, Any]:
        """``diameter.sessions`` over the workers: a session once, ``here`` if any worker serves it."""
        merged: dict[str, dict[str, Any]] = {}
        for result in await self._every_worker("diameter.sessions", args):
            for item in result["items"]:
                seen = merged.setdefault(item["session_id"], item)
                seen["here"] = seen["here"] or item["here"]
        return {"items": list(merged.values())}

    async def requests(self, command: str, args: dict[str, Any]) -> dict[str, Any]:
        """``diameter.rar`` / ``diameter.asr``: each worker sends to the sessions whose gateway is
        connected to it; the account's other sessions are listed as not reached."""
        results = await self._every_worker(command, {**args, "here_only": True})
        items = [i for r in results for i in r["items"]]
        reached = {i["session_id"] for i in items}
        for s in (await self.sessions({k: v for k, v in args.items() if k in ("user", "account")}))["items"]:
            if s["session_id"] not in reached:
                items.append({"session_id": s["session_id"], "peer": s["peer"], "request": command[-3:],
                              "error": f"peer {s['peer']} is not connected to this jetd"})
        return {"items": items}

    async def sessions_of(self, account: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self.sessions({"account": account}))["items"]
        return items

    async def reauthorize(self, account: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self.requests("diameter.rar", {"account": account}))["items"]
        return items

    async def abort(self, account: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self.requests("diameter.asr", {"account": account}))["items"]
        return items


class RemoteDiameterSite:
    """Puts ``RemoteDiameter`` in the main process's services; its address (``jetctl status``) is
    the one the workers listen on."""

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
