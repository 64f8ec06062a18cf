"""Real servers for tests: a private redis-server, PostgreSQL databases.

Each fixture starts what it needs and cleans up; nothing depends on what a
previous run left behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from redis import Redis as SyncRedis


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on {host}:{port}") from None
            time.sleep(0.05)


@contextlib.contextmanager
def redis_server(workdir: Path, *extra: str, port: int | None = None
                 ) -> Iterator[tuple[str, int, subprocess.Popen[bytes]]]:
    """A private redis-server on a free port (or ``port``), keeping nothing on disk."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed; run `make test`, which installs it")
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--logfile", str(workdir / f"redis-{port}.log"), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port)
        yield "127.0.0.1", port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def redis_cluster(workdir: Path) -> Iterator[list[int]]:
    with contextlib.ExitStack() as stack:
        ports = []
        for n in range(3):
            d = workdir / f"node{n}"
            _, port, _ = stack.enter_context(redis_server(
                d, "--cluster-enabled", "yes", "--cluster-config-file", str(d / "nodes.conf"),
                "--cluster-node-timeout", "2000",
                # the default bus port (port + 10000) overflows for free ports above 55535
                "--cluster-port", str(free_port())))
            ports.append(port)
        cli = shutil.which("redis-cli")
        assert cli, "redis-cli is needed for the cluster test"
        subprocess.run([cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
                        "--cluster-replicas", "0", "--cluster-yes"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        for port in ports:
            with SyncRedis(port=port) as node:
                while b"cluster_state:ok" not in node.execute_command("CLUSTER", "INFO"):
                    assert time.monotonic() < deadline, "cluster did not come up"
                    time.sleep(0.1)
        yield ports


PG_ADMIN_DSN = os.environ.get("JET_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _psql(dsn: str, sql: str) -> None:
    subprocess.run(["psql", dsn, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def postgres_available() -> bool:
    try:
        _psql(PG_ADMIN_DSN, "select 1")
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the local PostgreSQL, dropped afterwards.

    Yields an SQLAlchemy URL (postgresql+asyncpg://…).
    """
    name = f"jet_test_{uuid.uuid4().hex[:12]}"
    _psql(PG_ADMIN_DSN, f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].removeprefix("postgresql://")
    try:
        yield f"postgresql+asyncpg://{base}/{name}"
    finally:
        _psql(PG_ADMIN_DSN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
