"""Bring a database to the schema this Jet ships, programmatically (no alembic.ini).

``await upgrade(engine)`` migrates to head; it refuses a database stamped with a
revision these migrations do not contain (a newer Jet migrated it), raising
DatabaseTooNew with a message that says what to do.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from provisioning.errors import DatabaseTooNew

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _upgrade(conn: Connection) -> tuple[str | None, str]:
    cfg = alembic_config()
    script = ScriptDirectory.from_config(cfg)
    current = _current(conn)
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise DatabaseTooNew(
            f"the database is at schema revision {current!r}, which this Jet does not know "
            f"(it knows up to {script.get_current_head()!r}); a newer Jet has migrated it. "
            "Run the newer Jet, or restore a backup taken before the upgrade; jetd will not start."
        )
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")
    return current, head_revision()


async def upgrade(engine: AsyncEngine) -> tuple[str | None, str]:
    """Migrate to head; return (revision before, revision now)."""
    async with engine.begin() as conn:
        return await conn.run_sync(_upgrade)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def require_head(engine: AsyncEngine) -> str:
    """For processes that must not migrate (RADIUS workers): the schema must be at head."""
    current = await current_revision(engine)
    head = head_revision()
    if current != head:
        raise DatabaseTooNew(
            f"the database is at schema revision {current!r} but this Jet needs {head!r}; "
            "the main jetd process migrates it at start")
    return head
