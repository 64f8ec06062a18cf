"""jetctl diameter sessions, rar, asr."""

from __future__ import annotations

import click

from jetd.ctl.base import call, cli, emit, json_option, table


@cli.group()
def diameter() -> None:
    """Diameter Gy/Ro credit-control sessions."""


@diameter.command("sessions")
@click.option("--user", help="Only this user's sessions (user or user@realm).")
@json_option
def sessions(user: str | None, as_json: bool) -> None:
    """List open credit-control sessions, of every jetd on this Redis (column "here": served by
    this jetd; others by another jetd, or by none since a restart until their next request)."""
    emit(call("diameter.sessions", user=user), as_json,
         lambda r: table(r["items"], ["user", "realm", "peer", "session_id", "rating_groups", "held_octets",
                                      "held_seconds", "held_money", "here"]))


@diameter.command("rar")
@click.argument("user")
@json_option
def rar(user: str, as_json: bool) -> None:
    """Send a Re-Auth-Request for each of USER's sessions (after a top-up or plan change)."""
    emit(call("diameter.rar", user=user), as_json,
         lambda r: table(r["items"], ["peer", "session_id", "request", "result", "error"]))


@diameter.command("asr")
@click.argument("user")
@json_option
def asr(user: str, as_json: bool) -> None:
    """Send an Abort-Session-Request for each of USER's sessions."""
    emit(call("diameter.asr", user=user), as_json,
         lambda r: table(r["items"], ["peer", "session_id", "request", "result", "error"]))
