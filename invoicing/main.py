"""jet-invoicer: the invoicing worker, a process of its own (same config file as jetd).

``jet-invoicer --config FILE`` runs as a service until SIGTERM.
``jet-invoicer --config FILE run --date YYYY-MM-DD`` runs the billing for a target date once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
import sys

import click

from jetd import __version__, logs, systemd
from jetd.errors import ConfigError
from jetd.loading import Loaded, load
from jetd.settings import DEFAULT_CONFIG

log = logging.getLogger("jet.invoicer")


async def _serve(loaded: Loaded) -> None:
    """Wait for work until SIGTERM. Intake from the session streams and the
    scheduled billing runs plug in here (issue 7)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    systemd.notify("READY=1\nSTATUS=waiting for sessions")
    log.info("jet-invoicer ready", extra={"config": str(loaded.path), "database": _safe(loaded)})
    await stop.wait()
    systemd.notify("STOPPING=1")
    log.info("jet-invoicer stopped")


def _safe(loaded: Loaded) -> str:
    url = loaded.settings.database.url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def _load(config_path: str) -> Loaded:
    try:
        return load(config_path)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True, metavar="FILE")
@click.version_option(__version__, prog_name="jet-invoicer")
@click.pass_context
def cli(ctx: click.Context, config_path: str) -> None:
    """Jet's invoicing worker."""
    ctx.obj = config_path
    if ctx.invoked_subcommand is None:
        loaded = _load(config_path)
        logs.setup(loaded.settings.log.level, loaded.settings.log.format)
        import uvloop

        uvloop.run(_serve(loaded))


@cli.command()
@click.option("--date", "target", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Target date.")
@click.pass_obj
def run(config_path: str, target: dt.datetime) -> None:
    """Run billing for every account whose cycle falls due by DATE."""
    _load(config_path)
    raise click.ClickException("billing runs are not built yet (issue 7); nothing was billed")


def main() -> None:
    cli(prog_name="jet-invoicer")
