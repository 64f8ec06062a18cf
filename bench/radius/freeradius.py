"""FreeRADIUS 3.2 as the benchmark's reference target, from a private copy of its config.

The stock Debian config (/etc/freeradius/3.0) is copied into a temp dir and changed
only where needed to run there: log/run dirs inside the temp dir (so the detail file
of default accounting is written there), no user/group switch (we run as root or as
whoever we are), the listen sections of the default site on free ports on 127.0.0.1
(IPv6 listeners dropped), inner-tunnel on a free port, clients.conf holding only the
bench client, and the ``files`` module's users file holding the bench users with
Cleartext-Password ahead of the stock entries. Nothing under /etc is touched.

Run ``python bench/radius/freeradius.py`` to start one, check it answers, and stop it.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__:  # imported as bench.radius.freeradius (tests)
    from . import loadgen
else:  # run as a script, or imported by a sibling script: bench/radius is on sys.path
    import loadgen

STOCK = Path("/etc/freeradius/3.0")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_udp_ports(count: int) -> list[int]:
    """Distinct free UDP ports (held together while chosen), below the kernel's ephemeral
    range: a port from that range, free when chosen, can be handed to some other program's
    client socket in the second before the server binds it (FreeRADIUS then refuses to
    start with "Address already in use")."""
    low = _ephemeral_low()
    socks: list[socket.socket] = []
    try:
        while len(socks) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind(("127.0.0.1", random.randrange(10_000, low)))
            except OSError:
                sock.close()
                continue
            socks.append(sock)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for sock in socks:
            sock.close()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def users_file_text(users: int) -> str:
    """A FreeRADIUS users file: one Cleartext-Password check item per bench user."""
    lines = []
    for i in range(users):
        name = loadgen.user_name(i)
        lines.append(f'{name}\tCleartext-Password := "{loadgen.user_password(name)}"\n')
    return "".join(lines)


def _listen_blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of each top-level-in-server ``listen { … }`` block."""
    blocks = []
    for m in re.finditer(r"(?m)^[ \t]*listen[ \t]*\{", text):
        depth, i = 0, m.end() - 1
        while i < len(text):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    blocks.append((m.start(), i + 1))
                    break
            i += 1
    return blocks


def _strip_comments(block: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in block.splitlines())


def rewrite_default_site(text: str, auth_port: int, acct_port: int) -> str:
    """Bind the stock auth/acct listeners to 127.0.0.1 on our ports; drop the IPv6 ones."""
    out, last = [], 0
    for start, end in _listen_blocks(text):
        block = text[start:end]
        live = _strip_comments(block)
        out.append(text[last:start])
        last = end
        kind = re.search(r"(?m)^\s*type\s*=\s*(\S+)", live)
        if re.search(r"(?m)^\s*ipv6addr\s*=", live):
            continue  # IPv6 listener: not wanted
        if kind is None or kind.group(1) not in ("auth", "acct"):
            out.append(block)
            continue
        port = auth_port if kind.group(1) == "auth" else acct_port
        block = re.sub(r"(?m)^(\s*)ipaddr\s*=.*$", r"\g<1>ipaddr = 127.0.0.1", block, count=1)
        block = re.sub(r"(?m)^(\s*)port\s*=.*$", rf"\g<1>port = {port}", block, count=1)
        out.append(block)
    out.append(text[last:])
    result = "".join(out)
    if len(_listen_blocks(result)) != 2:
        raise RuntimeError("unexpected stock sites-enabled/default: expected one auth and one acct "
                           "IPv4 listener")
    return result


class FreeRadius:
    """A FreeRADIUS process on free ports with the bench users; a context manager."""

    def __init__(self, secret: str = loadgen.DEFAULT_SECRET, users: int = 10_000,
                 workdir: Path | None = None, stock: Path = STOCK, binary: str | None = None) -> None:
        self.secret = secret
        self.users = users
        self.stock = stock
        self.binary = binary or shutil.which("freeradius") or shutil.which("radiusd")
        self._own_tmp = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="jet-bench-freeradius-"))
        self.raddb = self.workdir / "raddb"
        self.auth_port, self.acct_port, self.inner_port = free_udp_ports(3)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "freeradius.out"
        self.on_spawn: Callable[[int], None] | None = None  # called with each process started

    # ---------------------------------------------------------------- config

    def write_config(self) -> None:
        if self.binary is None:
            raise RuntimeError("freeradius is not installed (Debian package freeradius)")
        if not self.stock.is_dir():
            raise RuntimeError(f"no stock FreeRADIUS config at {self.stock}")
        if self.raddb.exists():
            shutil.rmtree(self.raddb)
        shutil.copytree(self.stock, self.raddb, symlinks=True)
        for sub in ("log", "log/radacct", "run"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)

        conf = self.raddb / "radiusd.conf"
        text = conf.read_text()
        text = self._set(text, "raddbdir", str(self.raddb))
        text = self._set(text, "logdir", str(self.workdir / "log"))
        text = self._set(text, "run_dir", str(self.workdir / "run"))
        # no privilege switch: the temp dir belongs to us (and freerad may not exist)
        text = re.sub(r"(?m)^(\s*)(user|group)\s*=\s*\S+", r"\1#\2 = (bench: not switched)", text)
        conf.write_text(text)

        default = self._site("default")
        default.write_text(rewrite_default_site(default.read_text(), self.auth_port, self.acct_port))
        inner = self._site("inner-tunnel")
        if inner.exists():
            inner.write_text(re.sub(r"(?m)^(\s*port\s*=\s*)18120\b", rf"\g<1>{self.inner_port}",
                                    inner.read_text()))

        (self.raddb / "clients.conf").write_text(
            "# bench: the load generator on 127.0.0.1 only\n"
            "client bench {\n"
            "\tipaddr = 127.0.0.1\n"
            f'\tsecret = "{self.secret}"\n'
            "\tshortname = bench\n"
            "}\n"
        )

        authorize = self.raddb / "mods-config" / "files" / "authorize"
        stock_text = authorize.read_text() if authorize.exists() else ""
        self._unlink_symlink(authorize)
        authorize.write_text("# bench users\n" + users_file_text(self.users) + "\n" + stock_text)

    @staticmethod
    def _set(text: str, key: str, value: str) -> str:
        new, count = re.subn(rf"(?m)^(\s*){key}\s*=.*$", rf"\g<1>{key} = {value}", text, count=1)
        if count != 1:
            raise RuntimeError(f"radiusd.conf has no {key} setting")
        return new

    @staticmethod
    def _unlink_symlink(path: Path) -> None:
        if path.is_symlink():
            target = path.resolve()
            path.unlink()
            if target.exists():
                shutil.copyfile(target, path)

    def _site(self, name: str) -> Path:
        """sites-enabled/NAME as a private file (the copy may hold a symlink)."""
        path = self.raddb / "sites-enabled" / name
        if path.is_symlink():
            link = os.readlink(path)
            target = (path.parent / link).resolve() if not os.path.isabs(link) else Path(link)
            if not str(target).startswith(str(self.raddb)):
                target = self.raddb / "sites-available" / name
            path.unlink()
            shutil.copyfile(target, path)
        return path

    # ---------------------------------------------------------------- process

    def start(self, timeout: float = 30.0) -> None:
        self.write_config()
        check = subprocess.run([self.binary, "-C", "-d", str(self.raddb)], capture_output=True,
                               text=True, timeout=60)
        if check.returncode != 0:
            raise RuntimeError(f"freeradius -C rejected the bench config:\n{check.stdout}{check.stderr}")
        log = self.log_path.open("wb")
        # -f: stay in the foreground (our child), -l: log file; no -X (debug is slow)
        self.proc = subprocess.Popen(
            [self.binary, "-f", "-d", str(self.raddb), "-l", str(self.workdir / "log" / "radius.log")],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        if self.on_spawn:
            self.on_spawn(self.proc.pid)
        if not self.wait_ready(timeout):
            out = self.log_path.read_text(errors="replace")[-2000:]
            radius_log = self.workdir / "log" / "radius.log"
            if radius_log.exists():
                out += "\nradius.log:\n" + radius_log.read_text(errors="replace")[-3000:]
            state = "running" if self.proc is not None and self.proc.poll() is None else "exited"
            self.stop()
            raise RuntimeError(f"FreeRADIUS ({state}) did not answer on 127.0.0.1:{self.auth_port} "
                               f"within {timeout:.0f} s:\n{out}")

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                return False
            code = loadgen.probe("127.0.0.1", self.auth_port, self.secret, "auth", 0.3)
            if code == loadgen.ACCESS_ACCEPT:
                return True
            if code == loadgen.ACCESS_REJECT:
                raise RuntimeError("FreeRADIUS rejects the bench user: users file not loaded?")
        return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def cleanup(self) -> None:
        self.stop()
        if self._own_tmp:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> FreeRadius:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def main() -> int:
    with FreeRadius() as fr:
        print(f"FreeRADIUS up: auth 127.0.0.1:{fr.auth_port} acct 127.0.0.1:{fr.acct_port} "
              f"secret {fr.secret!r} config {fr.raddb}")
        names = {2: "Access-Accept", 3: "Access-Reject", 5: "Accounting-Response", None: "no answer"}
        code = loadgen.probe("127.0.0.1", fr.auth_port, fr.secret, "auth", 2.0, name="user09999")
        print("auth user09999 ->", names.get(code, code))
        code = loadgen.probe("127.0.0.1", fr.auth_port, fr.secret, "auth", 2.0, name="user00001",
                             password="wrong")
        print("auth user00001 with a wrong password ->", names.get(code, code))
        code = loadgen.probe("127.0.0.1", fr.acct_port, fr.secret, "acct", 2.0)
        print("acct Start ->", names.get(code, code))
    return 0


if __name__ == "__main__":
    sys.exit(main())
