"""Provisioning fixtures: a migrated Service on each database, with a settable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from provisioning.db import make_engine
from provisioning.service import Service

PLANS = {("default", "home"), ("default", "pro"), ("default", "wholesale"), ("isp2", "basic"),
         ("isp2", "home"), ("isp3", "basic")}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 6, 10, 12, 0, tzinfo=UTC))


def plan_exists(realm: str, plan: str) -> bool:
    return (realm, plan) in PLANS


@pytest.fixture
async def service(database_url: str, clock: Clock) -> AsyncIterator[Service]:
    svc = Service(make_engine(database_url), clock=clock, plan_exists=plan_exists, scrypt_n=16)
    await svc.start()
    try:
        yield svc
    finally:
        await svc.close()


@pytest.fixture
async def api(service: Service) -> AsyncIterator[ApiClient]:
    """The /v1 API on a real TCP port with an operator token."""
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from provisioning.api import mount_api
    from provisioning.models import OPERATOR

    app = web.Application()
    mount_api(service)(app)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    _, operator = await service.create_token(OPERATOR, "operator")
    try:
        yield ApiClient(client, service, operator)
    finally:
        await client.close()


class ApiClient:
    def __init__(self, client: Any, service: Service, operator: str) -> None:
        self.client = client
        self.service = service
        self.operator = operator

    async def call(self, method: str, path: str, token: str | None = None, *, json: Any = None,
                   params: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        hdrs = {"Authorization": f"Bearer {token or self.operator}", **(headers or {})}
        async with self.client.request(method, path, json=json, params=params, headers=hdrs) as resp:
            body = await resp.json() if resp.content_type == "application/json" else None
            return resp.status, body

    @property
    def base_url(self) -> str:
        return str(self.client.make_url("/")).rstrip("/")
