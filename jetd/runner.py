"""One runner owns start, reload and stop (like aiohttp's AppRunner).

Sites start in the order given and stop in reverse. Signals become requests in
one place: SIGTERM/SIGINT → drain and stop, SIGHUP → reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import time
from collections.abc import Callable
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
    def __init__(self, app: App, sites: list[Site], primary: bool = True) -> None:
        self.app = app
        self.sites = sites
        # The main process speaks to systemd and owns the config metrics; workers don't.
        self.primary = primary
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
            began = time.monotonic()
            try:
                await asyncio.wait_for(site.stop(), timeout=budget)
            except TimeoutError:
                log.warning("%s did not stop within %ss; abandoned", site.name, budget)
            except Exception:
                log.exception("error stopping %s", site.name)
            log.debug("%s stopped in %.3fs", site.name, time.monotonic() - began)

    async def reload(self) -> Loaded:
        """Load and validate everything first; swap only if it is all good."""
        async with self._reload_lock:
            self._notify(f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}")
            try:
                new = await asyncio.to_thread(load, self.app.loaded.path)
            except ConfigError as exc:
                if self.primary:
                    CONFIG_RELOADS.labels(result="refused").inc()
                    CONFIG_LAST_RELOAD_SUCCESS.set(0)
                for problem in exc.problems:
                    log.error("reload refused: %s", problem, extra={"problem": str(problem)})
                raise
            finally:
                self._notify("READY=1")
            old, self.app.loaded = self.app.loaded, new
            self.app.loaded_at = time.time()
            self.app.reloads += 1
            logs.setup(new.settings.log.level, new.settings.log.format, self.app.log_fields())
            for hook in self.app.reload_hooks:
                await hook(old, new)
            if self.primary:
                CONFIG_RELOADS.labels(result="applied").inc()
                CONFIG_LAST_RELOAD_SUCCESS.set(1)
            log.info("config reloaded from %s", new.path)
            return new

    def _notify(self, message: str) -> None:
        if self.primary:
            systemd.notify(message)

    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self, on_ready: Callable[[], None] | None = None) -> None:
        """Start, serve until SIGTERM/SIGINT, drain, stop."""
        loop = asyncio.get_running_loop()
        if self.primary:
            CONFIG_LAST_RELOAD_SUCCESS.set(1)
        await self.start()
        _quiet_gc()
        reloads: set[asyncio.Task[Loaded]] = set()

        def on_hup() -> None:
            task = loop.create_task(self.reload())
            reloads.add(task)
            task.add_done_callback(_quietly_done(reloads))

        loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        loop.add_signal_handler(signal.SIGINT, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, on_hup)
        watchdog = None
        if self.primary and (interval := systemd.watchdog_interval()) is not None:
            watchdog = loop.create_task(systemd.watchdog_loop(interval))
        self._notify("READY=1\nSTATUS=serving")
        log.info("jetd ready", extra={"pid": os.getpid()})
        if on_ready is not None:
            on_ready()
        try:
            await self._stopping.wait()
        finally:
            self._notify("STOPPING=1")
            log.info("draining and stopping")
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            if watchdog is not None:
                watchdog.cancel()
            await self.stop()
            await _cancel_leftovers()
            log.info("stopped")


def _quiet_gc() -> None:
    """What exists once the sites are up (code, config, pricebooks, the account cache) lives
    as long as the process: move it out of the collector's sight (gc.freeze), and collect
    the young generations less often, so the full collections that walk every cached
    account and session (tens of ms, every request waiting) become rare."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


async def _cancel_leftovers(grace: float = 1.0) -> None:
    """Every site has stopped; a task still running is a leak. Name it, cancel it and
    wait a little, never without end: asyncio.run waits for ever on a task whose
    cancellation hangs (SQLAlchemy's shielded close of an aiosqlite connection whose
    engine is already disposed once held a stopped jetd that way)."""
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in leftovers:
        log.warning("task still running after stop: %r", task)
        task.cancel()
    if leftovers:
        await asyncio.wait(leftovers, timeout=grace)


def _quietly_done(tasks: set[asyncio.Task[Loaded]]):  # type: ignore[no-untyped-def]
    def done(task: asyncio.Task[Loaded]) -> None:
        tasks.discard(task)
        with contextlib.suppress(asyncio.CancelledError, ConfigError):
            task.result()  # a refused reload was logged already

    return done
