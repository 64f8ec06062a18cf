"""jetctl status, version, reload."""

from __future__ import annotations

from typing import Any

import click

from jetd.ctl.base import call, cli, emit, json_option


def _status_text(s: dict[str, Any]) -> str:
    lines = [
        f"jetd {s['version']}  pid {s['pid']}  up {s['uptime_seconds']:.0f}s",
        f"config     {s['config']} (loaded {s['config_loaded_at']}, {s['reloads']} reloads)",
    ]
    for listener in s["listeners"]:
        lines.append(f"listener   {listener['name']:<10} {listener['address']}")
    for name, value in sorted(s["counters"].items()):
        lines.append(f"counter    {name:<24} {value}")
    return "\n".join(lines)


@cli.command()
@json_option
def status(as_json: bool) -> None:
    """Version, uptime, config, listeners, counters."""
    emit(call("status"), as_json, _status_text)


@cli.command()
@json_option
def version(as_json: bool) -> None:
    """The running jetd's version."""
    emit(call("version"), as_json, lambda r: f"jetd {r['version']}")


@cli.command()
def reload() -> None:
    """Reload the config and pricebooks; a bad one is refused and the old one kept."""
    result = call("reload")
    click.echo(f"reloaded {result['config']}")
