"""Alembic environment: always handed a live connection by provisioning.migrate."""

from __future__ import annotations

from alembic import context

from provisioning.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through provisioning.migrate, which passes a connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
