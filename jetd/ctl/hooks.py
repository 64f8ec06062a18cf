"""jetctl hooks list, failed, deliveries, retry."""

from __future__ import annotations

from typing import Any

import click

from jetd.ctl.base import call, cli, emit, json_option, table


@cli.group()
def hooks() -> None:
    """Event hooks and their deliveries."""


@hooks.command("list")
@json_option
def hooks_list(as_json: bool) -> None:
    """Hooks and built-in behaviours with their queues."""
    emit(call("hooks.list"), as_json,
         lambda r: table(r["items"], ["name", "action", "cursor", "pending", "done", "failed"]))


def _deliveries(r: dict[str, Any]) -> str:
    return table(r["items"], ["id", "hook", "event_id", "event_type", "account_id", "status", "attempts",
                              "updated_at", "last_error"])


@hooks.command("failed")
@click.option("--hook", help="Only this hook's deliveries.")
@click.option("--limit", type=int, default=100, show_default=True)
@json_option
def hooks_failed(hook: str | None, limit: int, as_json: bool) -> None:
    """Deliveries that failed for good (retry them with `jetctl hooks retry ID`)."""
    emit(call("hooks.failed", hook=hook, limit=limit), as_json, _deliveries)


@hooks.command("deliveries")
@click.option("--hook", help="Only this hook's deliveries.")
@click.option("--status", type=click.Choice(["pending", "done", "failed"]))
@click.option("--limit", type=int, default=100, show_default=True)
@json_option
def hooks_deliveries(hook: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """Recent deliveries, newest first."""
    emit(call("hooks.deliveries", hook=hook, status=status, limit=limit), as_json, _deliveries)


@hooks.command("retry")
@click.argument("delivery_id", type=int, metavar="ID")
@json_option
def hooks_retry(delivery_id: int, as_json: bool) -> None:
    """Queue failed delivery ID again, due now."""
    emit(call("hooks.retry", id=delivery_id), as_json, lambda r: f"delivery {r['id']} queued again")
