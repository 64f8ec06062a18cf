"""Run FreeRADIUS's radclient from async tests (without blocking the loop)."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass

import pytest

RADCLIENT = shutil.which("radclient")
needs_radclient = pytest.mark.skipif(RADCLIENT is None, reason="radclient (freeradius-utils) not installed")


@dataclass(frozen=True)
class Result:
    returncode: int
    output: str

    @property
    def received(self) -> str | None:
        """The name of the reply packet radclient accepted, e.g. "Access-Accept"."""
        for line in self.output.splitlines():
            if line.startswith("Received "):
                return line.split()[1]
        return None


async def radclient(port: int, command: str, text: str, secret: str = "testing123", *, retries: int = 1,
                    wait: float = 3.0, host: str = "127.0.0.1") -> Result:
    """radclient -r RETRIES (every try counts) -t WAIT (seconds before a retry)."""
    assert RADCLIENT is not None
    proc = await asyncio.create_subprocess_exec(
        RADCLIENT, "-x", "-r", str(retries), "-t", str(wait), f"{host}:{port}", command, secret,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate((text + "\n").encode())
    return Result(proc.returncode or 0, out.decode(errors="replace"))
