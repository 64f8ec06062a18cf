"""FreeRADIUS's radclient as the independent RADIUS client."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass


@dataclass
class Answer:
    code: str | None  # "Access-Accept", "Access-Reject", "Accounting-Response", None: no answer
    attributes: dict[str, str]
    output: str


def radclient(server: str, kind: str, secret: str, pairs: str, *, retries: int = 1,
              timeout: float = 2.0, parallel: int = 1) -> Answer:
    """Send the request(s) in ``pairs`` (radclient's text form, one per line) and parse
    the (last) answer; ``parallel`` requests in flight at once."""
    binary = shutil.which("radclient")
    if binary is None:
        raise RuntimeError("radclient is not installed; `make test` installs freeradius-utils")
    result = subprocess.run(
        [binary, "-x", "-r", str(retries), "-t", str(timeout), "-p", str(parallel), server, kind, secret],
        input=pairs, capture_output=True, text=True, timeout=300,
    )
    output = result.stdout + result.stderr
    code = None
    attributes: dict[str, str] = {}
    received = False
    for line in output.splitlines():
        if line.startswith("Received "):
            code = line.split()[1]
            received = True
            continue
        if received and line.startswith(("\t", " ")) and " = " in line:
            name, _, value = line.strip().partition(" = ")
            attributes[name] = value.strip('"')
        elif received and not line.startswith(("\t", " ")):
            received = False
    return Answer(code, attributes, output)
