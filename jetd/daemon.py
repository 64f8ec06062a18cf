"""Which sites jetd runs, in which order."""

from __future__ import annotations

from jetd.api import ApiSite
from jetd.app import App
from jetd.control.server import ControlSite
from jetd.metrics import MetricsSite
from jetd.runner import Site

# Control commands register on import.
import jetd.commands  # noqa: F401  isort: skip


def build_sites(app: App) -> list[Site]:
    """Start order: services first, then the listeners that use them.

    The control socket comes last so that jetctl answering means jetd is ready.
    """
    s = app.settings
    sites: list[Site] = []
    if s.metrics.enabled:
        sites.append(MetricsSite(app))
    if s.api.enabled:
        sites.append(ApiSite(app))
    sites.append(ControlSite(app))
    return sites
