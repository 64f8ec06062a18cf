"""The daemon's error tree. Errors raised here are translated at the edges
(the control socket, the CLI, the process exit code); the core never logs and
swallows them."""

from __future__ import annotations

from dataclasses import dataclass


class JetError(Exception):
    """Root of jetd's errors."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config or a file it names."""

    file: str
    key: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key or '(top)'}: {self.reason}"


class ConfigError(JetError):
    """A config (or a file it names) is invalid; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ControlError(JetError):
    """A control command failed; the message goes back to jetctl as is."""


class UsageError(ControlError):
    """A control command was called with bad arguments."""
