"""Control commands; each module registers its own on import."""

from jetd.commands import builtin, diameter, hooks, invoices, provisioning, sessions  # noqa: F401
