"""The jetctl click group, the socket client and output helpers."""

from __future__ import annotations

import json
import os
import re
import socket as socketlib
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from jetd.defaults import DEFAULT_CONFIG, DEFAULT_SOCKET

FALLBACK_SOCKET = DEFAULT_SOCKET


class Client:
    """One connection to the control socket per call: simple and robust."""

    def __init__(self, path: str, timeout: float = 60.0) -> None:
        self.path = path
        self.timeout = timeout

    def request(self, command: str, args: dict[str, Any]) -> dict[str, Any]:
        payload = json.dumps({"command": command, "args": args}).encode() + b"\n"
        with socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout)
            sock.connect(self.path)
            sock.sendall(payload)
            chunks: list[bytes] = []
            while not chunks or not chunks[-1].endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        reply = json.loads(b"".join(chunks))
        if not isinstance(reply, dict):
            raise ValueError("reply is not a JSON object")
        return reply


def _socket_path(socket: str | None, config: str | None) -> str:
    if socket:
        return socket
    if os.environ.get("JET_CONTROL_SOCKET"):
        return os.environ["JET_CONTROL_SOCKET"]
    path = config or (DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else None)
    if path:
        return socket_from_config(Path(path))
    return FALLBACK_SOCKET


def socket_from_config(path: Path) -> str:
    """Only control.socket, read leniently: the rest of the file may be broken
    (that is when an operator runs `jetctl reload` to see why)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    value: object = None
    try:
        value = tomllib.loads(text).get("control", {}).get("socket")
    except (tomllib.TOMLDecodeError, AttributeError):
        section = ""
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith("["):
                section = stripped.strip("[] ")
            elif section == "control" and (m := re.match(r'socket\s*=\s*"([^"]*)"', stripped)):
                value = m.group(1)
    if not isinstance(value, str):
        return FALLBACK_SOCKET
    socket = Path(value)
    return str(socket if socket.is_absolute() else path.parent.resolve() / socket)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--socket", "socket_path", metavar="PATH", help="jetd's control socket.")
@click.option("--config", "config_path", metavar="FILE",
              help=f"Read the socket path from this config (default {DEFAULT_CONFIG}).")
@click.pass_context
def cli(ctx: click.Context, socket_path: str | None, config_path: str | None) -> None:
    """Control a running jetd."""
    ctx.obj = {"socket": socket_path, "config": config_path}


def call(command: str, **args: Any) -> Any:
    """Send one command to jetd; on error print it and exit non-zero."""
    ctx = click.get_current_context()
    root = ctx.find_root().obj or {}
    path = _socket_path(root.get("socket"), root.get("config"))
    try:
        reply = Client(path).request(command, {k: v for k, v in args.items() if v is not None})
    except FileNotFoundError:
        raise click.ClickException(f"no control socket at {path}: is jetd running?") from None
    except (ConnectionError, OSError) as exc:
        raise click.ClickException(f"cannot talk to jetd at {path}: {exc}") from None
    except ValueError as exc:
        raise click.ClickException(f"jetd sent a reply jetctl cannot read: {exc}") from None
    if not reply.get("ok"):
        click.echo(f"Error: {reply.get('error', 'unknown error')}", err=True)
        for problem in reply.get("problems", []):
            click.echo(f"  {problem}", err=True)
        ctx.exit(1)
    return reply.get("result")


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)


def emit(result: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    """Print a read command's result: JSON, or the human form."""
    if as_json or human is None:
        click.echo(json.dumps(result, indent=2, default=str))
    else:
        click.echo(human(result))


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A plain aligned text table."""
    if not rows:
        return "(none)"
    cells = [[str(row.get(c, "") if row.get(c) is not None else "") for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def main() -> None:
    try:
        cli(prog_name="jetctl")
    except KeyboardInterrupt:
        sys.exit(130)
