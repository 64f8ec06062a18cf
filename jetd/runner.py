"""One runner owns start, reload and stop (like aiohttp's AppRunner).

Sites start in the order given and stop in reverse. Signals become requests in
one place: SIGTERM/SIGINT → drain and stop, SIGHUP → reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from typing import Protocol

from jetd import logs, systemd
from jetd.app import App
from jetd.errors import ConfigError
from jetd.loading import Loaded, load
from jetd.metrics import CONFIG_LAST_RELOAD_SUCCESS, CONFIG_RELOADS

log = logging.getLogger("jetd")


class Site(Protocol):
    """A listener or service with a start and a stop."""

    name: str

    @property
    def address(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Runner:
    def __init__(self, app: App, sites: list[Site]) -> None:
        self.app = app
        self.sites = sites
        self._started: list[Site] = []
        self._reload_lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        app.reload = self.reload

    async def start(self) -> None:
        """Start every site in order; if one fails, stop those started and raise."""
        for site in self.sites:
            try:
                await site.start()
            except BaseException:
                log.error("cannot start %s", site.name)
                await self.stop()
                raise
            self._started.append(site)
            if site.address:
                self.app.listeners.append({"name": site.name, "address": site.address})
                log.info("%s listening on %s", site.name, site.address,
                         extra={"site": site.name, "address": site.address})

    async def stop(self) -> None:
        """Stop in reverse order, each bounded by daemon.drain_seconds."""
        budget = self.app.settings.daemon.drain_seconds
        while self._started:
            site = self._started.pop()
            try:
                await asyncio.wait_for(site.stop(), timeout=budget)
            except TimeoutError:
                log.warning("%s did not stop within %ss; abandoned", site.name, budget)
            except Exception:
                log.exception("error stopping %s", site.name)

    async def reload(self) -> Loaded:
        """Load and validate everything first; swap only if it is all good."""
        async with self._reload_lock:
            systemd.notify(f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}")
            try:
                new = await asyncio.to_thread(load, self.app.loaded.path)
            except ConfigError as exc:
                CONFIG_RELOADS.labels(result="refused").inc()
                CONFIG_LAST_RELOAD_SUCCESS.set(0)
                for problem in exc.problems:
                    log.error("reload refused: %s", problem, extra={"problem": str(problem)})
                raise
            finally:
                systemd.notify("READY=1")
            old, self.app.loaded = self.app.loaded, new
            self.app.loaded_at = time.time()
            self.app.reloads += 1
            logs.setup(new.settings.log.level, new.settings.log.format)
            for hook in self.app.reload_hooks:
                await hook(old, new)
            CONFIG_RELOADS.labels(result="applied").inc()
            CONFIG_LAST_RELOAD_SUCCESS.set(1)
            log.info("config reloaded from %s", new.path)
            return new

    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Start, serve until SIGTERM/SIGINT, drain, stop."""
        loop = asyncio.get_running_loop()
        await self.start()
        reloads: set[asyncio.Task[Loaded]] = set()

        def on_hup() -> None:
            task = loop.create_task(self.reload())
            reloads.add(task)
            task.add_done_callback(_quietly_done(reloads))

        loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        loop.add_signal_handler(signal.SIGINT, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, on_hup)
        watchdog = None
        if (interval := systemd.watchdog_interval()) is not None:
            watchdog = loop.create_task(systemd.watchdog_loop(interval))
        systemd.notify("READY=1\nSTATUS=serving")
        log.info("jetd ready", extra={"pid": __import__("os").getpid()})
        try:
            await self._stopping.wait()
        finally:
            systemd.notify("STOPPING=1")
            log.info("draining and stopping")
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            if watchdog is not None:
                watchdog.cancel()
            await self.stop()
            log.info("stopped")


def _quietly_done(tasks: set[asyncio.Task[Loaded]]):  # type: ignore[no-untyped-def]
    def done(task: asyncio.Task[Loaded]) -> None:
        tasks.discard(task)
        with contextlib.suppress(asyncio.CancelledError, ConfigError):
            task.result()  # a refused reload was logged already

    return done
