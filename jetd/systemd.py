"""sd_notify written directly to $NOTIFY_SOCKET (no libsystemd needed)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket


def notify(message: str) -> bool:
    """Send READY=1, RELOADING=1, STOPPING=1, WATCHDOG=1, STATUS=…; False if not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.connect(address)
            sock.sendall(message.encode())
        except OSError:
            return False
    return True


def watchdog_interval() -> float | None:
    """Half of WatchdogSec when systemd asked this process for pings."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 2_000_000
    except ValueError:
        return None


async def watchdog_loop(interval: float) -> None:
    """Ping the watchdog while the event loop is alive."""
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            notify("WATCHDOG=1")
            await asyncio.sleep(interval)
