"""Alembic migrations shipped inside the package; run by ``provisioning.migrate``."""
