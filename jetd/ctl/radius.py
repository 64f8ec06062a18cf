"""jetctl session list, disconnect, coa."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from jetd.ctl.base import call, cli, emit, json_option, table


@cli.group()
def session() -> None:
    """Open RADIUS sessions."""


def _when(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


@session.command("list")
@click.option("--user", help="Only this user's sessions (user or user@realm).")
@json_option
def session_list(user: str | None, as_json: bool) -> None:
    """List open sessions."""
    result = call("session.list", user=user)

    def text(r: dict[str, Any]) -> str:
        rows = [{**s, "start": _when(s["start"]), "updated": _when(s["updated"])} for s in r["items"]]
        return table(rows, ["user", "realm", "nas", "session_id", "start", "updated", "octets_in",
                            "octets_out", "seconds", "charges"])

    emit(result, as_json, text)


def _results(r: dict[str, Any]) -> str:
    return table(r["items"], ["nas", "session_id", "result", "error_cause"])


@cli.command()
@click.argument("user")
@json_option
def disconnect(user: str, as_json: bool) -> None:
    """Send a Disconnect-Request for each of USER's open sessions."""
    emit(call("disconnect", user=user), as_json, _results)


@cli.command()
@click.argument("user")
@click.argument("attributes", nargs=-1, required=True, metavar="ATTR=VALUE...")
@json_option
def coa(user: str, attributes: tuple[str, ...], as_json: bool) -> None:
    """Send a CoA-Request with ATTR=VALUE changes for each of USER's open sessions."""
    emit(call("coa", user=user, attributes=list(attributes)), as_json, _results)
