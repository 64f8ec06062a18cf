"""status, version, reload."""

from __future__ import annotations

from typing import Any

from jetd import __version__
from jetd.app import App
from jetd.control import Args, command
from jetd.errors import ConfigError, ControlError


@command("status")
async def status(app: App, args: Args) -> dict[str, Any]:
    """Version, uptime, config file, listeners, counters."""
    return app.status()


@command("version")
async def version(app: App, args: Args) -> dict[str, Any]:
    """The running version."""
    return {"version": __version__}


class ReloadRefused(ControlError):
    def __init__(self, exc: ConfigError) -> None:
        super().__init__("new config refused; the running config stays in force")
        self.extra = {"problems": [str(p) for p in exc.problems]}


@command("reload")
async def reload(app: App, args: Args) -> dict[str, Any]:
    """Reload config and pricebooks atomically."""
    assert app.reload is not None
    try:
        loaded = await app.reload()
    except ConfigError as exc:
        raise ReloadRefused(exc) from None
    return {"config": str(loaded.path), "reloads": app.reloads}
