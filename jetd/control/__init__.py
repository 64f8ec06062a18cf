"""The control socket: one JSON request and one JSON response a line.

Request:  {"command": "status", "args": {...}}
Response: {"ok": true, "result": ...} or {"ok": false, "error": "message"}

Commands live in a registry; adding one is one small decorated function::

    @command("version")
    async def version(app: App, args: Args) -> dict[str, Any]:
        return {"version": __version__}
"""

from jetd.control.registry import COMMANDS, Args, command, dispatch

__all__ = ["COMMANDS", "Args", "command", "dispatch"]
