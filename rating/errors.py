"""The rating package's one error tree.

Everything the pricebook loader or the engine raises derives from RatingError, so
the edges (jetd --check, jetctl, the quota layer) catch one class and translate it.
"""

from __future__ import annotations

from dataclasses import dataclass


class RatingError(Exception):
    """Root of every error raised by ``rating``."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a config or pricebook file: where it is and why it is wrong."""

    file: str
    key: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key or '(top)'}: {self.reason}"


class PricebookError(RatingError):
    """One or more pricebook files are invalid; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class CurrencyMismatch(RatingError):
    """Two amounts in different currencies were combined."""


class UnratedUsage(RatingError):
    """The plan has no price for this usage (no meter, no matching rate, no zone)."""


class InvalidUsage(RatingError):
    """A usage record that cannot exist: naive times, end before start, negative counts."""
