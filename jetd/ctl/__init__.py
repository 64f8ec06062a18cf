"""jetctl: the operator's command line for a running jetd.

Each subcommand module registers click commands on ``cli`` and talks to the
daemon with ``call``; reads take ``--json`` and print with ``emit``.
"""

from __future__ import annotations

from jetd.ctl.base import call, cli, emit, json_option, main

# Subcommand modules register themselves on import.
from jetd.ctl import builtin, provisioning, radius, rating  # noqa: F401  isort: skip
from jetd.ctl import hooks  # noqa: F401  isort: skip
from jetd.ctl import invoices  # noqa: F401  isort: skip
from jetd.ctl import diameter  # noqa: F401  isort: skip

__all__ = ["call", "cli", "emit", "json_option", "main"]
