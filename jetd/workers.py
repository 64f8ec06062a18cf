"""``radius.workers = N``: N worker processes share the protocol ports.

The main process keeps the control socket, the HTTP API and /metrics, and
supervises the workers: it starts them, restarts one that dies (with backoff),
passes SIGHUP on after it has validated a reload itself, and stops them on
SIGTERM. Each worker binds the RADIUS ports with SO_REUSEPORT. On the authentication
port a BPF program on the port group picks the worker by the RADIUS Identifier: one
NAS's requests spread over every worker, and a retransmission reaches the worker that
has its reply cached. On the accounting port the program hashes the User-Name: a
subscriber's records stay with one worker, whose snapshot cache then stays current
(protocols/radius/reuseport.py).
Metrics are written by every process into PROMETHEUS_MULTIPROC_DIR and served
merged by the main process.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jetd.loading import Loaded

if TYPE_CHECKING:
    from jetd.app import App

log = logging.getLogger("jetd.workers")

PR_SET_PDEATHSIG = 1
MAX_BACKOFF = 30.0


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the main process dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Worker:
    index: int
    proc: asyncio.subprocess.Process | None = None
    restarts: int = 0
    started_at: float = 0.0
    ready: bool = False
    generation: int = 0  # the pool's reload generation when this process was started
    watcher: asyncio.Task[None] | None = field(default=None, repr=False)

    def info(self) -> dict[str, Any]:
        pid = self.proc.pid if self.proc is not None and self.proc.returncode is None else None
        return {"index": self.index, "pid": pid, "restarts": self.restarts, "ready": self.ready}


class WorkerPool:
    """A site of the main process: the supervised worker processes."""

    name = "workers"

    def __init__(self, app: App, count: int) -> None:
        self.app = app
        self.workers = [Worker(i) for i in range(count)]
        self._stopping = False
        self._generation = 0  # bumped at each applied reload
        app.services["workers"] = self
        app.reload_hooks.append(self._on_reload)

    @property
    def address(self) -> str:
        return ""

    def info(self) -> list[dict[str, Any]]:
        return [w.info() for w in self.workers]

    async def start(self) -> None:
        for worker in self.workers:
            await self._spawn(worker)
        # Ready means every worker is ready: each writes a line when its sites are up.
        await asyncio.gather(*(self._wait_ready(w) for w in self.workers))
        for worker in self.workers:
            worker.watcher = asyncio.get_running_loop().create_task(self._watch(worker))

    async def _spawn(self, worker: Worker) -> None:
        worker.ready = False
        worker.generation = self._generation
        worker.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "jetd.worker", "--config", str(self.app.loaded.path),
            "--index", str(worker.index),
            stdout=asyncio.subprocess.PIPE, preexec_fn=_die_with_parent,
        )
        worker.started_at = time.monotonic()

    async def _wait_ready(self, worker: Worker) -> None:
        assert worker.proc is not None and worker.proc.stdout is not None
        line = await asyncio.wait_for(worker.proc.stdout.readline(), timeout=30)
        if line.strip() != b"READY":
            code = await worker.proc.wait()
            raise RuntimeError(f"worker {worker.index} failed to start (exit {code}); see its log above")
        worker.ready = True
        if worker.generation != self._generation:
            # A reload was applied while it started: it may have read the older file.
            worker.proc.send_signal(signal.SIGHUP)

    async def _watch(self, worker: Worker) -> None:
        backoff = 0.5
        while True:
            assert worker.proc is not None
            code = await worker.proc.wait()
            worker.ready = False
            _mark_dead(worker.proc.pid)
            if self._stopping:
                return
            log.error("worker %d (pid %d) exited with %s; restarting", worker.index, worker.proc.pid, code,
                      extra={"worker": worker.index, "exit": code})
            if time.monotonic() - worker.started_at > 60:
                backoff = 0.5
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
            worker.restarts += 1
            await self._spawn(worker)
            try:
                await self._wait_ready(worker)
            except (RuntimeError, TimeoutError):
                continue

    async def _on_reload(self, old: Loaded, new: Loaded) -> None:
        """The main process validated the new config; the workers load it too. A worker
        still starting has no SIGHUP handler yet (the signal would kill it): it gets the
        signal once it is ready."""
        self._generation += 1
        for worker in self.workers:
            if worker.ready and worker.proc is not None and worker.proc.returncode is None:
                worker.generation = self._generation
                worker.proc.send_signal(signal.SIGHUP)

    async def stop(self) -> None:
        self._stopping = True
        procs = [w.proc for w in self.workers if w.proc is not None and w.proc.returncode is None]
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        budget = self.app.settings.daemon.drain_seconds
        done = await asyncio.gather(*(_wait(p, budget) for p in procs))
        for proc, finished in zip(procs, done, strict=True):
            if not finished:
                proc.kill()
                await proc.wait()
            _mark_dead(proc.pid)
        for worker in self.workers:
            if worker.watcher is not None:
                worker.watcher.cancel()


async def _wait(proc: asyncio.subprocess.Process, seconds: float) -> bool:
    try:
        await asyncio.wait_for(proc.wait(), seconds)
    except TimeoutError:
        return False
    return True


def _mark_dead(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
