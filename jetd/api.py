"""The HTTP API site (aiohttp, inside jetd's loop): /healthz and /v1/."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from jetd.app import App

APP_KEY: web.AppKey[App] = web.AppKey("jet_app")


async def healthz(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    return web.json_response({"status": "ok", "uptime_seconds": round(app.status()["uptime_seconds"], 3)})


def make_web_app(app: App) -> web.Application:
    web_app = web.Application(client_max_size=4 * 1024 * 1024)
    web_app[APP_KEY] = app
    web_app.router.add_get("/healthz", healthz)
    for mount in app.services.get("api_mounts", []):
        mount(web_app)
    return web_app


class ApiSite:
    name = "api"

    def __init__(self, app: App) -> None:
        self.app = app
        listen = app.settings.api.listen
        self.host, self.port = listen.host, listen.port
        self._runner: web.AppRunner | None = None

    @property
    def address(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def start(self) -> None:
        self._runner = web.AppRunner(make_web_app(self.app), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        if self.port == 0:
            server: Any = site._server
            self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
