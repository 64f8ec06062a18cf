"""The control socket site: a Unix stream socket, one JSON line each way."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from typing import TYPE_CHECKING

from jetd.control.registry import dispatch

if TYPE_CHECKING:
    from jetd.app import App

log = logging.getLogger("jetd.control")

MAX_LINE = 16 * 1024 * 1024


class ControlSite:
    """Listens on control.socket (mode 0660 by default)."""

    name = "control"

    def __init__(self, app: App) -> None:
        self.app = app
        self.path = app.settings.control.socket
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
                    response = await dispatch(self.app, request)
                writer.write(json.dumps(response, default=str).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self._clients.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
