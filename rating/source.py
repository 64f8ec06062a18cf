"""Where things are in a pricebook file: key paths, their lines, and problem collection."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rating.errors import Problem

Path = tuple[str | int, ...]

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
_KEY_PART = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*""")
_HEADER = re.compile(r"^\s*(\[\[?)(.*?)\]\]?\s*(?:#.*)?$")
_KEYLINE = re.compile(
    r"""^\s*((?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*="""
)


def render(path: Path) -> str:
    """('plans', 'Smart Data', 'rates', 1, 'price') -> plans."Smart Data".rates[1].price"""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = part if _BARE.match(part) else '"' + part.replace('"', '\\"') + '"'
            out += ("." if out else "") + text
    return out


def split_key(text: str) -> list[str] | None:
    """'a."b c".d' -> ['a', 'b c', 'd'] (None if it is not a TOML key)."""
    parts: list[str] = []
    pos = 0
    while pos < len(text):
        m = _KEY_PART.match(text, pos)
        if not m:
            return None
        parts.append(
            m.group(1) if m.group(1) is not None else m.group(2) if m.group(2) is not None else m.group(3)
        )
        pos = m.end()
        if pos < len(text):
            if text[pos] != ".":
                return None
            pos += 1
    return parts


def line_index(text: str) -> dict[Path, int]:
    """Map each table header and key in the TOML text to its line number (1-based)."""
    index: dict[Path, int] = {}
    counts: dict[Path, int] = {}
    current: Path = ()
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        header = _HEADER.match(line) if stripped.startswith("[") else None
        if header:
            parts = split_key(header.group(2).strip())
            if parts is None:
                continue
            base: Path = tuple(parts)
            if header.group(1) == "[[":
                n = counts.get(base, 0)
                counts[base] = n + 1
                # a nested array header continues the latest element of its parent arrays
                current = (*_resolve(base, counts), n)
            else:
                current = _resolve(base, counts)
            index.setdefault(current, number)
            continue
        m = _KEYLINE.match(line)
        if m:
            parts = split_key(m.group(1))
            if parts:
                index.setdefault(current + tuple(parts), number)
    return index


def _resolve(base: Path, counts: dict[Path, int]) -> Path:
    """Insert the current element index after each prefix that is an array of tables."""
    out: list[str | int] = []
    plain: Path = ()
    for part in base[:-1]:
        plain = (*plain, part)
        out.append(part)
        if plain in counts:
            out.append(counts[plain] - 1)
    out.append(base[-1])
    return tuple(out)


@dataclass
class Source:
    """One pricebook file being read: its name, line index and the problems found."""

    file: str
    lines: dict[Path, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line(self, path: Path) -> int | None:
        """The line of ``path``; else the first line inside it; else its nearest parent's."""
        found = self.lines.get(path)
        if found is not None:
            return found
        n = len(path)
        inside = [line for key, line in self.lines.items() if key[:n] == path]
        if inside:
            return min(inside)
        for k in range(n - 1, 0, -1):
            found = self.lines.get(path[:k])
            if found is not None:
                return found
        return None

    def problem(self, path: Path, reason: str, line: int | None = None, file: str | None = None) -> None:
        self.problems.append(
            Problem(file or self.file, render(path), reason, line if line is not None else self.line(path))
        )
