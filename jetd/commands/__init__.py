"""Control commands; each module registers its own on import."""

from jetd.commands import builtin, provisioning  # noqa: F401
