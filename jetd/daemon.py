"""Which sites jetd runs, in which order."""

from __future__ import annotations

from jetd.api import ApiSite
from jetd.app import App
from jetd.control.server import ControlSite
from jetd.diameter.remote import RemoteDiameterSite
from jetd.diameter.site import DiameterSite
from jetd.hooks.site import HooksSite
from jetd.metrics import MetricsSite
from jetd.provisioning_site import ProvisioningSite
from jetd.quota_site import QuotaSite
from jetd.radius.site import RadiusAcctSite, RadiusAuthSite
from jetd.runner import Site
from jetd.workers import WorkerPool

# Control commands register on import.
import jetd.commands  # noqa: F401  isort: skip


def protocol_sites(app: App) -> list[Site]:
    """The NAS- and gateway-facing listeners: in-process, or one set per worker."""
    sites: list[Site] = []
    if app.settings.radius.enabled:
        sites += [RadiusAuthSite(app), RadiusAcctSite(app)]
    if app.settings.diameter.enabled:
        sites.append(DiameterSite(app))
    return sites


def build_worker_sites(app: App) -> list[Site]:
    """What a worker process runs (radius.workers > 1): its own store connection and
    account cache (the main process migrated the database already), then the listeners; with
    Diameter also a control socket of its own (jetd.diameter.remote)."""
    sites: list[Site] = [ProvisioningSite(app, serve_api=False, migrate=False), QuotaSite(app),
                         *protocol_sites(app)]
    diameter = app.settings.diameter
    if diameter.enabled and (diameter.all_workers or app.worker == 0):
        # the main process forwards diameter.* commands (RAR/ASR to its gateways) to it
        sites.append(ControlSite(app))
    return sites


def build_sites(app: App) -> list[Site]:
    """Start order: services first, then the listeners that use them.

    The control socket comes last so that jetctl answering means jetd is ready.
    """
    s = app.settings
    # The store, the account cache and /v1: before the listeners that read the cache
    # and before ApiSite, into which it mounts /v1. The quota store serves the control
    # commands (account show, session list) in the main process too.
    sites: list[Site] = [ProvisioningSite(app), QuotaSite(app), HooksSite(app)]
    if s.radius.workers > 1:
        sites.append(WorkerPool(app, s.radius.workers))
        if s.diameter.enabled:
            sites.append(RemoteDiameterSite(app))
    else:
        sites.extend(protocol_sites(app))
    if s.metrics.enabled:
        sites.append(MetricsSite(app))
    if s.api.enabled:
        sites.append(ApiSite(app))
    sites.append(ControlSite(app))
    return sites
