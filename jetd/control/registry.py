"""The command registry behind the control socket."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jetd.errors import ControlError, JetError, UsageError

if TYPE_CHECKING:
    from jetd.app import App

log = logging.getLogger("jetd.control")


class Args:
    """Typed access to a command's arguments; a bad one is a UsageError."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def get_str(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.raw.get(name, default)
        if value is None:
            if required:
                raise UsageError(f"missing argument: {name}")
            return None
        if not isinstance(value, str):
            raise UsageError(f"argument {name} must be a string")
        return value

    def need_str(self, name: str) -> str:
        value = self.get_str(name, required=True)
        assert value is not None
        return value

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.raw.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"argument {name} must be an integer")
        return value

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name, default)
        if not isinstance(value, bool):
            raise UsageError(f"argument {name} must be true or false")
        return value

    def get_list(self, name: str) -> list[Any]:
        value = self.raw.get(name, [])
        if not isinstance(value, list):
            raise UsageError(f"argument {name} must be a list")
        return value


Handler = Callable[["App", Args], Awaitable[Any]]


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    help: str


COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    """Register an async handler ``(app, args) -> JSON-able result``."""

    def register(handler: Handler) -> Handler:
        if name in COMMANDS:
            raise RuntimeError(f"control command {name!r} registered twice")
        COMMANDS[name] = Command(name, handler, (handler.__doc__ or "").strip())
        return handler

    return register


async def dispatch(app: App, request: Any) -> dict[str, Any]:
    """Run one request; every failure becomes {"ok": false, "error": …}."""
    if not isinstance(request, dict) or not isinstance(request.get("command"), str):
        return {"ok": False, "error": 'request must be {"command": NAME, "args": {...}}'}
    name = request["command"]
    raw_args = request.get("args") or {}
    if not isinstance(raw_args, dict):
        return {"ok": False, "error": "args must be an object"}
    entry = COMMANDS.get(name)
    if entry is None:
        return {"ok": False, "error": f"unknown command: {name}"}
    try:
        result = await entry.handler(app, Args(raw_args))
    except ControlError as exc:
        return {"ok": False, "error": str(exc), **getattr(exc, "extra", {})}
    except JetError as exc:
        return {"ok": False, "error": str(exc)}
    except Exception:  # a bug must not take the socket down; it is logged with its trace
        log.exception("control command %s failed", name)
        return {"ok": False, "error": f"internal error in {name}; see the jetd log"}
    app.counters["control_commands"] += 1
    return {"ok": True, "result": result}
