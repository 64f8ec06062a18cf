"""Prometheus metrics, served from prometheus-client's own thread.

The pattern for every capability: define its metrics at module level in the
module that counts them, with names from DESIGN.md (``jet_radius_*``,
``jet_quota_*``…) and no per-subscriber labels. When ``radius.workers > 1`` the
parent sets PROMETHEUS_MULTIPROC_DIR before anything imports prometheus_client,
and this site serves the merged view of all workers.
"""

from __future__ import annotations

import os
import platform
import threading
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    ProcessCollector,
    start_http_server,
)
from prometheus_client import multiprocess as _multiprocess

from jetd import __version__

if TYPE_CHECKING:
    from jetd.app import App

BUILD_INFO = Gauge(
    "jet_build_info", "Jet build information; always 1.", ["version", "python"],
    multiprocess_mode="max",
)
BUILD_INFO.labels(version=__version__, python=platform.python_version()).set(1)

CONFIG_RELOADS = Counter("jet_config_reloads_total", "Config reloads by result.", ["result"])
CONFIG_LAST_RELOAD_SUCCESS = Gauge(
    "jet_config_last_reload_successful", "1 if the last reload attempt was applied.",
    multiprocess_mode="max",
)
CONTROL_COMMANDS = Counter("jet_control_commands_total", "Control socket commands.", ["result"])


def registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        _multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        ProcessCollector(registry=merged)  # the main process's own CPU and memory
        return merged
    return REGISTRY


class MetricsSite:
    """Serves /metrics off the event loop."""

    name = "metrics"

    def __init__(self, app: App) -> None:
        listen = app.settings.metrics.listen
        self.host, self.port = listen.host, listen.port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    async def start(self) -> None:
        self._server, self._thread = start_http_server(self.port, self.host, registry())
        if self.port == 0:
            self.port = self._server.server_port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)
