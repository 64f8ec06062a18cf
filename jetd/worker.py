"""One worker process (``python -m jetd.worker``), started by the main jetd.

It loads the same config, runs the protocol sites (RADIUS) and prints READY on
stdout once they are up. Signals: SIGTERM drains and stops, SIGHUP reloads.
"""

from __future__ import annotations

import argparse
import logging
import sys

from jetd import logs
from jetd.errors import ConfigError
from jetd.loading import Loaded, load
from jetd.main import exit_now

log = logging.getLogger("jetd.worker")


async def serve(loaded: Loaded, index: int) -> None:
    from jetd.app import App
    from jetd.daemon import build_worker_sites
    from jetd.runner import Runner

    app = App(loaded, worker=index)
    runner = Runner(app, build_worker_sites(app), primary=False)
    await runner.run(on_ready=lambda: print("READY", flush=True))
    exit_now(0)  # not through asyncio.run's teardown, which waits on any task without end


def main() -> None:
    parser = argparse.ArgumentParser(prog="jetd.worker")
    parser.add_argument("--config", required=True)
    parser.add_argument("--index", type=int, required=True)
    args = parser.parse_args()
    try:
        loaded = load(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        sys.exit(1)
    logs.setup(loaded.settings.log.level, loaded.settings.log.format, {"worker": args.index})
    import uvloop

    try:
        uvloop.run(serve(loaded, args.index))
    except OSError as exc:
        log.error("worker %d cannot start: %s", args.index, exc)
        sys.exit(1)
    exit_now(0)


if __name__ == "__main__":
    main()
