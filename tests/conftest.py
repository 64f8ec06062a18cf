"""Session-wide fixtures that start real servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import servers


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server for this test run."""
    with servers.redis_server(tmp_path_factory.mktemp("redis")) as (host, port, _proc):
        yield f"redis://{host}:{port}/0"


_next_db = iter(range(1, 16))


@pytest.fixture(scope="module")
def module_redis_url(redis_url: str) -> str:
    """A Redis logical database of its own for one test module on the run's redis-server
    (modules each have their own SQL database, whose account ids all start at 1)."""
    return redis_url.rsplit("/", 1)[0] + f"/{next(_next_db)}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run."""
    if not servers.postgres_available():
        pytest.fail(f"PostgreSQL is not reachable at {servers.PG_ADMIN_DSN}; `make test` starts it")
    with servers.postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'jet.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Store-level tests run once on SQLite and once on PostgreSQL, each on a fresh database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'jet.db'}"
        return
    if not servers.postgres_available():
        pytest.fail(f"PostgreSQL is not reachable at {servers.PG_ADMIN_DSN}; `make test` starts it")
    with servers.postgres_database() as url:
        yield url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Soak and benchmark-like tests (``@pytest.mark.slow``) run only with JET_SLOW=1."""
    import os

    if os.environ.get("JET_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set JET_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
