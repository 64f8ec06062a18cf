"""The shipped unit files pass `systemd-analyze verify`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).parents[2] / "systemd"
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("unit", ["jetd.service", "jet-invoicer.service"])
def test_unit_verifies(unit: str, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is not installed; `make test` installs systemd")
    text = (UNITS / unit).read_text()
    # verify checks that ExecStart binaries exist: point them at this venv's.
    for name in ("jetd", "jet-invoicer"):
        text = text.replace(f"/usr/bin/{name} ", f"{BIN / name} ")
    (tmp_path / unit).write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", str(tmp_path / unit)],
                            capture_output=True, text=True)
    ours = [line for line in result.stderr.splitlines() if unit in line]
    assert result.returncode == 0 and not ours, result.stderr
    for directive in ("Type=notify", "User=jet", "ProtectSystem=strict", "NoNewPrivileges=yes",
                      "PrivateTmp=yes", "StateDirectory=jet", "RuntimeDirectory=jet", "WatchdogSec="):
        assert directive in text
