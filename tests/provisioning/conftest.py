"""Provisioning fixtures: a migrated Service on each database, with a settable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

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
