"""Load a config and every file it names, all or nothing.

``load(path)`` reads jet.toml, validates it, then runs each registered part
loader (the pricebook catalog, RADIUS dictionaries, templates…). Any problem in
any of them raises ConfigError listing them all, so a reload can be refused
before anything changes. Later capabilities add a part with ``@part("name")``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jetd.errors import ConfigError, Problem
from jetd.settings import Settings, load_settings

PartLoader = Callable[[Settings], Any]
PARTS: dict[str, PartLoader] = {}


def part(name: str) -> Callable[[PartLoader], PartLoader]:
    """Register a loader for a file-backed part of the config."""

    def register(loader: PartLoader) -> PartLoader:
        PARTS[name] = loader
        return loader

    return register


@dataclass(frozen=True)
class Loaded:
    """A validated config and the parts loaded from the files it names."""

    path: Path
    settings: Settings
    parts: Mapping[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        s = self.settings
        bits = [f"{len(s.radius.clients)} RADIUS clients", f"{len(s.catalog.files)} pricebook files"]
        bits += [f"{name}: {getattr(value, 'summary', lambda: 'ok')()}" for name, value in self.parts.items()]
        return f"{self.path}: OK ({'; '.join(bits)})"


def load(path: str | Path) -> Loaded:
    """Read and validate everything; raise ConfigError with every problem."""
    path = Path(path)
    settings = load_settings(path)
    problems: list[Problem] = []
    parts: dict[str, Any] = {}
    for name, loader in PARTS.items():
        try:
            parts[name] = loader(settings)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return Loaded(path, settings, MappingProxyType(parts))


# The parts that exist so far register here, on import.
import jetd.parts  # noqa: E402  isort: skip
import jetd.radius.dictionary_part  # noqa: E402,F401  isort: skip
