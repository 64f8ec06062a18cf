"""ssh, sftp, ftp, sql and radius-file hooks against real servers started here: an
asyncssh server (key auth, known_hosts checked), an aioftp server, the test PostgreSQL
(reached through a TCP forwarder that can be switched off). Each remote target goes down
and comes back; every event arrives once in effect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aioftp
import asyncssh
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from provisioning import events as ev
from provisioning.models import OPERATOR, NewAccount
from provisioning.service import Service
from tests.hooks.conftest import MakeDispatcher, free_port, until

# --- an SSH/SFTP server -------------------------------------------------------------------------


@dataclass
class SshServer:
    root: Path
    port: int
    host_key: Any
    client_key: Any
    commands: list[tuple[str, str]] = field(default_factory=list)
    server: Any = None

    async def up(self) -> None:
        authorized = asyncssh.import_authorized_keys(self.client_key.export_public_key().decode())

        async def handle(process: asyncssh.SSHServerProcess[str]) -> None:
            data = await process.stdin.read()
            self.commands.append((process.command or "", data))
            process.exit(0)

        self.server = await asyncssh.listen(
            "127.0.0.1", self.port, server_host_keys=[self.host_key], authorized_client_keys=authorized,
            process_factory=handle,
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(self.root)))

    async def down(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None


@pytest.fixture
async def ssh_server(tmp_path: Path) -> AsyncIterator[SshServer]:
    root = tmp_path / "sftp-root"
    root.mkdir()
    server = SshServer(root, free_port(), asyncssh.generate_private_key("ssh-ed25519"),
                       asyncssh.generate_private_key("ssh-ed25519"))
    await server.up()
    yield server
    await server.down()


def write(path: str, content: str) -> None:
    with open(path, "w") as f:
        f.write(content)


def read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".jet-tmp")]


def ssh_hook(server: SshServer, tmp_path: Path, **kw: Any) -> dict[str, Any]:
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{server.port} {server.host_key.export_public_key().decode()}")
    key = tmp_path / "id_ed25519"
    key.write_bytes(server.client_key.export_private_key())
    return {"host": "127.0.0.1", "port": server.port, "username": "jet", "key_file": str(key),
            "known_hosts": str(known), "timeout": 10, **kw}


async def test_ssh_runs_a_quoted_command(service: Service, make_dispatcher: MakeDispatcher,
                                         ssh_server: SshServer, tmp_path: Path) -> None:
    d = await make_dispatcher([ssh_hook(ssh_server, tmp_path, name="ssh", action="ssh",
                                        events=["account.created"],
                                        command="/usr/local/bin/add-mailbox $account_contact_name")])
    await service.create_account(OPERATOR, NewAccount("oneil", contact_name="O'Neil; reboot"))
    await until(d, lambda: len(ssh_server.commands) == 1)
    command, stdin = ssh_server.commands[0]
    assert command == "/usr/local/bin/add-mailbox 'O'\"'\"'Neil; reboot'"
    assert '"type":"account.created"' in stdin


async def test_ssh_down_then_back_each_event_once(service: Service, make_dispatcher: MakeDispatcher,
                                                  ssh_server: SshServer, tmp_path: Path) -> None:
    d = await make_dispatcher([ssh_hook(ssh_server, tmp_path, name="ssh", action="ssh",
                                        events=["account.*"],
                                        command="sync-user $account_username $event_type")])
    await ssh_server.down()
    a = await service.create_account(OPERATOR, NewAccount("vic"))
    for _ in range(3):
        await d.run_once()
    assert ssh_server.commands == []
    await ssh_server.up()
    await until(d, lambda: len(ssh_server.commands) == 1)
    await service.suspend(OPERATOR, a.id)
    await until(d, lambda: len(ssh_server.commands) == 2)
    for _ in range(3):
        await d.run_once()
    assert [c for c, _ in ssh_server.commands] == ["sync-user vic account.created",
                                                   "sync-user vic account.suspended"]


async def test_ssh_refuses_an_unknown_host_key(service: Service, make_dispatcher: MakeDispatcher,
                                               ssh_server: SshServer, tmp_path: Path) -> None:
    hook = ssh_hook(ssh_server, tmp_path, name="ssh", action="ssh", events=["account.created"],
                    command="true")
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    write(hook["known_hosts"], f"[127.0.0.1]:{ssh_server.port} {other}")
    d = await make_dispatcher([hook])
    await service.create_account(OPERATOR, NewAccount("mallory"))
    rows: list[ev.Delivery] = []
    for _ in range(100):
        await d.run_once()
        async with service.engine.connect() as conn:
            rows = await ev.list_deliveries(conn, status="failed", hook="ssh")
        if rows:
            break
    assert rows and "host key" in (rows[0].last_error or "") and ssh_server.commands == []


async def test_sftp_upload_down_then_back(service: Service, make_dispatcher: MakeDispatcher,
                                          ssh_server: SshServer, tmp_path: Path) -> None:
    d = await make_dispatcher([ssh_hook(ssh_server, tmp_path, name="sftp", action="sftp",
                                        events=["account.*"], path="/accounts-$realm.csv",
                                        content="$accounts_csv")])
    await ssh_server.down()
    a = await service.create_account(OPERATOR, NewAccount("sam", email="sam@x.example"))
    await service.create_account(OPERATOR, NewAccount("tia"))
    for _ in range(3):
        await d.run_once()
    target = ssh_server.root / "accounts-default.csv"
    assert not target.exists()
    await ssh_server.up()
    await until(d, lambda: "tia" in read(target))
    await service.suspend(OPERATOR, a.id)
    await until(d, lambda: "sam,suspended" in read(target))
    assert target.read_text().splitlines()[0] == "id,realm,username,status,email"
    assert not leftovers(ssh_server.root)


# --- FTP ----------------------------------------------------------------------------------------------

async def test_ftp_upload_down_then_back(service: Service, make_dispatcher: MakeDispatcher,
                                         tmp_path: Path) -> None:
    root = tmp_path / "ftp-root"
    root.mkdir()
    port = free_port()
    user = aioftp.User("jet", "ftp-pw", home_path="/", base_path=root,
                       permissions=[aioftp.Permission("/", readable=True, writable=True)])
    d = await make_dispatcher([{"name": "ftp", "action": "ftp", "events": ["account.*"], "host": "127.0.0.1",
                                "port": port, "username": "jet", "password": "ftp-pw", "timeout": 10,
                                "path": "/users-$realm", "content": "$users_file"}])
    a = await service.create_account(OPERATOR, NewAccount("uma", password="uma-password-1"))
    for _ in range(3):
        await d.run_once()  # nobody listening yet
    server = aioftp.Server([user])
    await server.start("127.0.0.1", port)
    try:
        target = root / "users-default"
        await until(d, lambda: "uma" in read(target))
        await service.suspend(OPERATOR, a.id)
        await until(d, lambda: "Reject" in read(target))
        async with service.engine.connect() as conn:
            rows = await ev.list_deliveries(conn, status=None, hook="ftp")
        assert {r.status for r in rows} == {"done"} and rows[-1].attempts >= 2
    finally:
        await server.close()


# --- SQL ------------------------------------------------------------------------------------------

async def test_sql_binds_values(service: Service, make_dispatcher: MakeDispatcher, postgres_url: str) -> None:
    engine = create_async_engine(postgres_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE IF NOT EXISTS hook_mailboxes "
                                    "(event_id bigint PRIMARY KEY, username text, status text)"))
        d = await make_dispatcher([{
            "name": "sql", "action": "sql", "events": ["account.*"], "url": postgres_url,
            "statement": "INSERT INTO hook_mailboxes (event_id, username, status) "
                         "VALUES (:id, :user, :status) ON CONFLICT (event_id) DO NOTHING",
            "param_types": {"id": "int"},
            "params": {"id": "$event_id", "user": "$account_contact_name", "status": "$account_status"}}])
        nasty = "x'); DROP TABLE hook_mailboxes; --"
        a = await service.create_account(OPERATOR, NewAccount("wes", contact_name=nasty))
        await service.suspend(OPERATOR, a.id)

        query = "SELECT username, status FROM hook_mailboxes ORDER BY event_id"
        found = await _run_until_rows(d, engine, query, 2, rounds=200)
        assert found == [(nasty, "active"), (nasty, "suspended")]
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS hook_mailboxes"))
        await engine.dispose()


class TcpForwarder:
    """127.0.0.1:port → the real server, switchable: the database "down" and "back"."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, free_port()
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.Task[None]] = set()

    async def up(self) -> None:
        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                writer.close()

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
            for task in (asyncio.create_task(pipe(reader, up_writer)),
                         asyncio.create_task(pipe(up_reader, writer))):
                self.pipes.add(task)
                task.add_done_callback(self.pipes.discard)

        self.server = await asyncio.start_server(accept, "127.0.0.1", self.port)

    async def down(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for task in list(self.pipes):
            task.cancel()
        await asyncio.gather(*self.pipes, return_exceptions=True)


async def test_sql_database_down_then_back_each_event_once(service: Service, make_dispatcher: MakeDispatcher,
                                                           postgres_url: str) -> None:
    url = make_url(postgres_url)
    forwarder = TcpForwarder((url.host or "127.0.0.1", url.port or 5432))
    hook_url = url.set(host="127.0.0.1", port=forwarder.port).render_as_string(hide_password=False)
    engine = create_async_engine(postgres_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE IF NOT EXISTS hook_synced (event_id bigint PRIMARY KEY, "
                                    "username text, kind text)"))
        d = await make_dispatcher([{
            "name": "sql", "action": "sql", "events": ["account.*"], "url": hook_url, "timeout": 5,
            "statement": "INSERT INTO hook_synced VALUES (:id, :user, :kind) "
                         "ON CONFLICT (event_id) DO NOTHING",
            "param_types": {"id": "int"},
            "params": {"id": "$event_id", "user": "$account_username", "kind": "$event_type"}}])
        a = await service.create_account(OPERATOR, NewAccount("xena"))  # the database is down
        for _ in range(3):
            await d.run_once()
        async with service.engine.connect() as conn:
            [pending] = await ev.list_deliveries(conn, status="pending", hook="sql")
        assert pending.attempts >= 1

        await forwarder.up()
        await service.suspend(OPERATOR, a.id)
        query = "SELECT username, kind FROM hook_synced ORDER BY event_id"
        found = await _run_until_rows(d, engine, query, 2, rounds=300)
        assert found == [("xena", "account.created"), ("xena", "account.suspended")]
    finally:
        await forwarder.down()
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS hook_synced"))
        await engine.dispose()


# --- radius-file -----------------------------------------------------------------------------------

async def test_radius_file_kept_current(service: Service, make_dispatcher: MakeDispatcher,
                                        tmp_path: Path) -> None:
    path = tmp_path / "users"
    d = await make_dispatcher([{"name": "users", "action": "radius-file", "events": ["account.*"],
                                "realm": "default", "path": str(path)}])
    a = await service.create_account(OPERATOR, NewAccount("vic", password="vic-password-1",
                                                          static_ip="10.0.0.9"))
    await until(d, lambda: path.exists() and "vic" in path.read_text())
    assert "10.0.0.9" in path.read_text()
    await service.delete_account(OPERATOR, a.id)
    await until(d, lambda: "vic" not in path.read_text() or "Reject" in path.read_text())
    assert not leftovers(tmp_path)


async def _run_until_rows(d: Any, engine: Any, query: str, want: int, *,
                          rounds: int) -> list[tuple[Any, ...]]:
    """Dispatcher rounds until ``query`` returns ``want`` rows (or ``rounds`` ran); the rows found."""
    found: list[tuple[Any, ...]] = []
    for _ in range(rounds):
        await d.run_once()
        async with engine.connect() as conn:
            found = [tuple(r) for r in await conn.execute(text(query))]
        if len(found) == want:
            break
        await asyncio.sleep(0.05)
    return found
