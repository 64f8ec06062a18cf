"""Control commands; each module registers its own on import."""

from jetd.commands import builtin, provisioning, sessions  # noqa: F401
