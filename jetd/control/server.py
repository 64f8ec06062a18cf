"""The control socket site: a Unix stream socket, one JSON line each way."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jetd.control.registry import dispatch
from jetd.errors import ControlError

if TYPE_CHECKING:
    from jetd.app import App

log = logging.getLogger("jetd.control")

MAX_LINE = 16 * 1024 * 1024


def worker_socket(socket: Path, index: int) -> Path:
    """The control socket of worker ``index`` (radius.workers > 1), beside the main one: the main
    process forwards to it what only that worker can do (its Diameter connections)."""
    return socket.with_name(f"{socket.name}.w{index}")


WORKER_COMMANDS = ("status", "diameter.")  # what a worker's socket answers (names or prefixes)


class ControlSite:
    """Listens on control.socket (mode 0660 by default); a worker on its own ``worker_socket``, for
    the commands only it can answer (``WORKER_COMMANDS``)."""

    name = "control"

    def __init__(self, app: App) -> None:
        self.app = app
        socket = app.settings.control.socket
        self.path = socket if app.worker is None else worker_socket(socket, app.worker)
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        return f"unix:{self.path}"

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=MAX_LINE)
        os.chmod(self.path, self.app.settings.control.mode)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._clients):
            task.cancel()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _dispatch(self, request: Any) -> dict[str, Any]:
        name = request.get("command") if isinstance(request, dict) else None
        if self.app.worker is not None and isinstance(name, str) and not name.startswith(WORKER_COMMANDS):
            return {"ok": False, "error": f"{name}: not on a worker's socket; use jetd's control socket "
                                          f"({self.app.settings.control.socket})"}
        return await dispatch(self.app, request)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        try:
            while line := await reader.readline():
                try:
                    request = json.loads(line)
                except ValueError as exc:
                    response = {"ok": False, "error": f"not JSON: {exc}"}
                else:
                    response = await self._dispatch(request)
                writer.write(json.dumps(response, default=str).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self._clients.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


ASK_TIMEOUT = 15.0  # seconds for a worker to answer a forwarded command (a RAR waits 5 s on its gateway)


async def ask(path: Path, command: str, args: dict[str, Any]) -> Any:
    """Run ``command`` in the jetd process listening on ``path`` (a worker's socket); its result, or
    ControlError with its error."""
    try:
        async with asyncio.timeout(ASK_TIMEOUT):
            reader, writer = await asyncio.open_unix_connection(str(path), limit=MAX_LINE)
            try:
                writer.write(json.dumps({"command": command, "args": args}).encode() + b"\n")
                await writer.drain()
                reply = json.loads(await reader.readline())
            finally:
                writer.close()
    except (OSError, ValueError, TimeoutError) as exc:
        raise ControlError(f"cannot reach the jetd worker at {path}: {exc or type(exc).__name__}") from None
    if not reply.get("ok"):
        raise ControlError(reply.get("error", "unknown error"))
    return reply.get("result")
