"""The running daemon's state, shared by its sites and control commands."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from jetd import __version__
from jetd.loading import Loaded
from jetd.settings import Settings

ReloadHook = Callable[[Loaded, Loaded], Awaitable[None]]


@dataclass
class App:
    """What jetd knows while it runs. Only the edges read the clock."""

    loaded: Loaded
    started_at: float = field(default_factory=time.time)
    loaded_at: float = field(default_factory=time.time)
    reloads: int = 0
    counters: Counter[str] = field(default_factory=Counter)
    listeners: list[dict[str, str]] = field(default_factory=list)
    # Components (provisioning service, quota façade, …) hang here by name.
    services: dict[str, Any] = field(default_factory=dict)
    # Called after a new config is in force: (old, new).
    reload_hooks: list[ReloadHook] = field(default_factory=list)
    # Set by the runner: reload the config, raising ConfigError if refused.
    reload: Callable[[], Awaitable[Loaded]] | None = None
    # None in the main process; the worker's index in a worker process.
    worker: int | None = None

    def log_fields(self) -> dict[str, Any]:
        return {} if self.worker is None else {"worker": self.worker}

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    def status(self) -> dict[str, Any]:
        now = time.time()
        return {
            "version": __version__,
            "pid": os.getpid(),
            "uptime_seconds": round(now - self.started_at, 3),
            "started_at": _iso(self.started_at),
            "config": str(self.loaded.path),
            "config_loaded_at": _iso(self.loaded_at),
            "reloads": self.reloads,
            "listeners": list(self.listeners),
            "settings": {
                "log_level": self.settings.log.level,
                "radius_clients": len(self.settings.radius.clients),
                "pricebook_files": len(self.settings.catalog.files),
            },
            "counters": dict(self.counters),
            "workers": self.services["workers"].info() if "workers" in self.services else [],
        }


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
