"""The hook dispatcher as a jetd site (main process only; after ProvisioningSite).

After start, ``app.services["hooks"]`` is the ``Dispatcher``; a config reload replaces
its targets (``[[hooks.hook]]`` and ``[hooks.builtin]``) without losing queued deliveries.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from jetd.hooks import emit
from jetd.hooks.actions import Context
from jetd.hooks.builtin import builtin_targets
from jetd.hooks.dispatcher import Dispatcher, Target, hook_target
from jetd.settings import Settings

if TYPE_CHECKING:
    from jetd.app import App
    from jetd.loading import Loaded

log = logging.getLogger("jetd.hooks")


def targets_of(settings: Settings, app: App | None = None) -> list[Target]:
    return [*builtin_targets(settings.hooks.builtin, app),
            *(hook_target(h) for h in settings.hooks.hook if h.enabled)]


class HooksSite:
    name = "hooks"

    def __init__(self, app: App) -> None:
        self.app = app
        self.dispatcher: Dispatcher | None = None
        self.ctx: Context | None = None

    @property
    def address(self) -> str:
        return ""

    async def start(self) -> None:
        service = self.app.services["provisioning"]
        s = self.app.settings
        self.ctx = Context(smtp=s.smtp, service=service, app=self.app)
        self.dispatcher = Dispatcher(service.engine, s.hooks, targets_of(s, self.app), self.ctx,
                                     clock=service.now)
        self.app.services["hooks"] = self.dispatcher
        self.app.reload_hooks.append(self._reloaded)
        if s.hooks.enabled:
            await self.dispatcher.open_cursors(self.dispatcher.targets)
            self.dispatcher.start()
            log.info("hook dispatcher started: %d hooks", len(s.hooks.hook))

    async def _reloaded(self, old: Loaded, new: Loaded) -> None:
        if self.dispatcher is None or self.ctx is None:
            return
        self.ctx.smtp = new.settings.smtp
        targets = targets_of(new.settings, self.app)
        if new.settings.hooks.enabled:
            await self.dispatcher.open_cursors(targets)
        self.dispatcher.configure(new.settings.hooks, targets)
        if new.settings.hooks.enabled and self.dispatcher._task is None:
            self.dispatcher.start()
        elif not new.settings.hooks.enabled:
            await self.dispatcher.stop()

    async def stop(self) -> None:
        await emit.drain()
        if self._reloaded in self.app.reload_hooks:
            self.app.reload_hooks.remove(self._reloaded)
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        if self.ctx is not None:
            await self.ctx.close()
        self.app.services.pop("hooks", None)
