"""Drive jetd from outside: a real subprocess, its control socket, jetctl."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.servers import free_port

BIN = Path(sys.executable).parent


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.2) -> None:
    """Until ``predicate()`` is true; the failure names what was awaited (no timing asserts:
    a loaded CI machine is simply given longer)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"condition not met within {timeout}s"
        time.sleep(interval)


def base_config(tmp: Path, redis_url: str = "redis://127.0.0.1:1/0", *, reap_after_intervals: int = 0,
                interim_interval: int = 300, **sections: str) -> str:
    """A config on free ports under tmp; extra TOML text per section name.

    Without ``redis_url`` the quota store is unreachable (accounting would be spooled):
    tests that need Redis pass the private test server's URL. The session reaper is off
    unless asked for: scenario tests send June 2026 event times, which it would reap.
    """
    text = f"""
[log]
level = "info"

[control]
socket = "{tmp / 'jetd.sock'}"

[metrics]
listen = "127.0.0.1:{free_port()}"

[api]
listen = "127.0.0.1:{free_port()}"

[database]
url = "sqlite+aiosqlite:///{tmp / 'jet.db'}"

[redis]
url = "{redis_url}"

[quota]
spool_dir = "{tmp / 'spool'}"

[radius]
listen = "127.0.0.1"
auth_port = 0
acct_port = 0
reap_after_intervals = {reap_after_intervals}
interim_interval = {interim_interval}
"""
    for extra in sections.values():
        text += "\n" + extra
    return text


class Jetd:
    """A jetd subprocess started from a config file."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.log = config.with_suffix(".log")
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            [str(BIN / "jetd"), "--config", str(config)],
            stdout=self._log_file, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )

    def wait_ready(self, timeout: float = 60.0) -> dict[str, Any]:
        """Until jetctl status answers (generous: a loaded CI machine starts Python slowly)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"jetd exited with {self.proc.returncode}:\n{self.log.read_text()}")
            result = self.ctl("status", "--json", check=False)
            if result.returncode == 0:
                return dict(json.loads(result.stdout))
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"jetd not ready:\n{self.log.read_text()}")

    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(BIN / "jetctl"), "--config", str(self.config), *args],
            capture_output=True, text=True, timeout=30,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"jetctl {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result

    def status(self) -> dict[str, Any]:
        return dict(json.loads(self.ctl("status", "--json").stdout))

    def listener(self, name: str) -> str:
        for entry in self.status()["listeners"]:
            if entry["name"] == name:
                return str(entry["address"])
        raise KeyError(name)

    def http_get(self, url: str) -> tuple[int, str]:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_file.close()
        return self.proc.returncode
