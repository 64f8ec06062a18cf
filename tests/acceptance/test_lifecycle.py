"""systemd's view of jetd and jet-invoicer: notify messages and clean stops."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.acceptance.harness import BIN, Jetd, base_config


def _receive_until(sock: socket.socket, wanted: bytes, timeout: float = 15.0) -> list[bytes]:
    sock.settimeout(timeout)
    seen: list[bytes] = []
    while not any(wanted in m for m in seen):
        seen.append(sock.recv(4096))
    return seen


def test_jetd_speaks_sd_notify_through_start_reload_and_stop(tmp_path: Path) -> None:
    config = tmp_path / "jet.toml"
    config.write_text(base_config(tmp_path))
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(tmp_path / "notify"))
        daemon = Jetd(config, env={"NOTIFY_SOCKET": str(tmp_path / "notify"),
                                   "WATCHDOG_USEC": "200000"})
        try:
            assert any(m.startswith(b"READY=1") for m in _receive_until(notify, b"READY=1"))
            assert b"WATCHDOG=1" in _receive_until(notify, b"WATCHDOG=1")
            daemon.wait_ready()
            daemon.signal(signal.SIGHUP)
            messages = _receive_until(notify, b"RELOADING=1")
            assert any(m.startswith(b"RELOADING=1\nMONOTONIC_USEC=") for m in messages)
            assert b"READY=1" in _receive_until(notify, b"READY=1")
            daemon.signal(signal.SIGTERM)
            assert b"STOPPING=1" in _receive_until(notify, b"STOPPING=1")
            assert daemon.proc.wait(timeout=5) == 0
        finally:
            daemon.stop()


def test_invoicer_starts_and_stops_cleanly(tmp_path: Path) -> None:
    config = tmp_path / "jet.toml"
    config.write_text(base_config(tmp_path))
    jetd = Jetd(config)  # the main jetd migrates the shared database, as in production
    jetd.wait_ready()
    proc = subprocess.Popen([str(BIN / "jet-invoicer"), "--config", str(config)],
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        seen = ""
        while "jet-invoicer ready" not in seen:
            line = proc.stderr.readline()
            assert line and time.monotonic() < deadline, f"no ready line; stderr so far:\n{seen}"
            seen += line
        proc.send_signal(signal.SIGTERM)
        _, rest = proc.communicate(timeout=30)
        assert proc.returncode == 0
        assert "jet-invoicer stopped" in rest
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
        jetd.stop()
