"""Hook fixtures: a migrated Service on each database, a dispatcher factory, real
targets (aiosmtpd, an aiohttp receiver that checks signatures) that can go down and
come back on the same port."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from jetd.hooks.actions import Context
from jetd.hooks.builtin import EVENTS, builtin_targets
from jetd.hooks.dispatcher import Dispatcher, hook_target
from jetd.hooks.settings import HooksSettings
from jetd.settings import SmtpSettings
from provisioning.db import make_engine
from provisioning.service import Service
from tests import servers

SECRET = "s3cret-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    """SQLite unless a test asks for both with
    ``@pytest.mark.parametrize("database_url", BOTH, indirect=True)`` (keeps the run short)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'jet.db'}"
        return
    if not servers.postgres_available():
        pytest.fail(f"PostgreSQL is not reachable at {servers.PG_ADMIN_DSN}; `make test` starts it")
    with servers.postgres_database() as url:
        yield url


BOTH = ["sqlite", "postgresql"]


@pytest.fixture
async def service(database_url: str) -> AsyncIterator[Service]:
    svc = Service(make_engine(database_url), scrypt_n=16)
    await svc.start()
    try:
        yield svc
    finally:
        await svc.close()


# --- SMTP -----------------------------------------------------------------------------------------

@dataclass
class Inbox:
    raw: list[bytes] = field(default_factory=list)

    @property
    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(r, policy=policy.default) for r in self.raw]  # type: ignore[misc]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(envelope.original_content)
        return "250 2.0.0 Queued"


class Smtp:
    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def up(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def down(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def settings(self) -> SmtpSettings:
        return SmtpSettings(host="127.0.0.1", port=self.port, sender="noc@isp.example", timeout=5)


@pytest.fixture
def smtp() -> Any:
    server = Smtp()
    server.up()
    yield server
    server.down()


# --- HTTP receiver --------------------------------------------------------------------------------

class Receiver:
    """POST /hook: checks X-Jet-Signature over timestamp.body; answers ``status``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.fail_next = 0  # answer 503 to this many requests
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        ts = request.headers.get("X-Jet-Timestamp", "")
        want = "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, request.headers.get("X-Jet-Signature", "")):
            self.bad_signatures += 1
            return web.Response(status=401)
        if self.fail_next:
            self.fail_next -= 1
            return web.Response(status=503, text="busy")
        self.received.append(json.loads(body))
        return web.Response(text="ok")

    async def up(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def down(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.up()
    yield r
    await r.down()


# --- the dispatcher -------------------------------------------------------------------------------

def hooks_settings(hooks: list[dict[str, Any]], **kw: Any) -> HooksSettings:
    base: dict[str, Any] = {"poll_interval": 0.05, "backoff_initial": 0.05, "backoff_max": 0.2,
                            "max_attempts": 50,
                            "builtin": dict.fromkeys(EVENTS, False)}  # every built-in off
    base.update(kw)
    return HooksSettings.model_validate({**base, "hook": hooks})


MakeDispatcher = Callable[..., Awaitable[Dispatcher]]


@pytest.fixture
async def make_dispatcher(service: Service) -> AsyncIterator[MakeDispatcher]:
    made: list[Dispatcher] = []

    async def make(hooks: list[dict[str, Any]], smtp: Smtp | None = None, **kw: Any) -> Dispatcher:
        settings = hooks_settings(hooks, **kw)
        ctx = Context(smtp=smtp.settings if smtp else SmtpSettings(), service=service)
        targets = [*builtin_targets(settings.builtin), *(hook_target(h) for h in settings.hook)]
        d = Dispatcher(service.engine, settings, targets, ctx)
        await d.run_once()  # first sight: cursors start at the outbox's end
        made.append(d)
        return d

    yield make
    for d in made:
        await d.stop()
        await d.ctx.close()


async def until(d: Dispatcher, check: Callable[[], bool], within: float = 60.0) -> None:
    """Run dispatcher rounds until ``check()`` (generous: a loaded machine is slow)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await d.run_once()
        if not check():
            await asyncio.sleep(0.05)
