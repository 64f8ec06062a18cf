"""Migrations: from empty to head on both databases; an unknown newer revision is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from provisioning.db import make_engine
from provisioning.errors import DatabaseTooNew
from provisioning.migrate import current_revision, head_revision, upgrade
from provisioning.tables import metadata


async def test_upgrade_from_empty_then_again(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert await current_revision(engine) is None
        before, after = await upgrade(engine)
        assert (before, after) == (None, head_revision())
        assert await upgrade(engine) == (head_revision(), head_revision())
        async with engine.connect() as conn:
            names = set(await conn.run_sync(lambda c: c.dialect.get_table_names(c)))
            assert set(metadata.tables) <= names
            realms = (await conn.execute(text("SELECT name FROM realms"))).scalars().all()
            assert realms == ["default"]
    finally:
        await engine.dispose()


async def test_refuses_a_newer_unknown_revision(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
        with pytest.raises(DatabaseTooNew) as e:
            await upgrade(engine)
        assert "9999_from_the_future" in str(e.value) and "newer Jet" in str(e.value)
        async with engine.connect() as conn:  # and nothing was touched
            assert (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar() == (
                "9999_from_the_future")
    finally:
        await engine.dispose()


async def test_a_worker_only_checks_the_revision(database_url: str) -> None:
    from provisioning.migrate import require_head

    engine = make_engine(database_url)
    try:
        with pytest.raises(DatabaseTooNew, match="main jetd process migrates"):
            await require_head(engine)
        await upgrade(engine)
        assert await require_head(engine) == head_revision()
    finally:
        await engine.dispose()
