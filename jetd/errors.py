"""The daemon's error tree. Errors raised here are translated at the edges
(the control socket, the CLI, the process exit code); the core never logs and
swallows them."""

from __future__ import annotations

from rating.errors import Problem

__all__ = ["ConfigError", "ControlError", "JetError", "Problem", "UsageError"]


class JetError(Exception):
    """Root of jetd's errors."""


class ConfigError(JetError):
    """A config (or a file it names) is invalid; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ControlError(JetError):
    """A control command failed; the message goes back to jetctl as is."""


class UsageError(ControlError):
    """A control command was called with bad arguments."""
