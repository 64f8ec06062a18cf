"""jetd --config FILE [--check]."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import tempfile

import click

from jetd import __version__, logs
from jetd.errors import ConfigError
from jetd.loading import Loaded, load
from jetd.settings import DEFAULT_CONFIG
from provisioning.errors import DatabaseTooNew

log = logging.getLogger("jetd")
_CLEANUP: list[str] = []  # folders to remove on the way out


async def serve(loaded: Loaded) -> None:
    from jetd.app import App
    from jetd.daemon import build_sites
    from jetd.runner import Runner

    _refuse_if_running(loaded)
    app = App(loaded)
    await Runner(app, build_sites(app)).run()
    exit_now(0)  # not through asyncio.run's teardown, which waits on any task without end


def _refuse_if_running(loaded: Loaded) -> None:
    """SO_REUSEPORT would let a second jetd share the RADIUS ports and take half the
    traffic; a live control socket means one is running already."""
    path = loaded.settings.control.socket
    if not path.exists():
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return  # a stale socket file: the previous jetd is gone
    raise OSError(f"another jetd is running (its control socket {path} answers)")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True, metavar="FILE")
@click.option("--check", is_flag=True, help="Validate the config and every file it names, then exit.")
@click.version_option(__version__, prog_name="jetd")
def cli(config_path: str, check: bool) -> None:
    """Jet's rating and billing daemon."""
    try:
        loaded = load(config_path)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{config_path}: {len(exc.problems)} problem(s)", err=True)
        sys.exit(1)
    if check:
        click.echo(loaded.summary())
        return
    logs.setup(loaded.settings.log.level, loaded.settings.log.format)
    if loaded.settings.radius.workers > 1:
        _multiprocess_metrics()
    try:
        import uvloop

        uvloop.run(serve(loaded))
    except (OSError, DatabaseTooNew) as exc:
        log.error("cannot start: %s", exc)
        sys.exit(1)
    exit_now(0)


def exit_now(code: int) -> None:
    """Every site has drained and closed: leave without waiting for idle library threads
    (a lingering one once held a stopped jetd for over 10 s). Cleanups run first."""
    for path in _CLEANUP:
        shutil.rmtree(path, ignore_errors=True)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _multiprocess_metrics() -> None:
    """Every process writes its samples here; /metrics serves the sum.

    Set before anything imports prometheus_client's value classes; the folder is
    emptied at each start so a previous run's dead workers don't count.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path, exist_ok=True)
    else:
        path = tempfile.mkdtemp(prefix="jet-metrics-")
        _CLEANUP.append(path)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path


def main() -> None:
    cli(prog_name="jetd")


if __name__ == "__main__":
    main()
