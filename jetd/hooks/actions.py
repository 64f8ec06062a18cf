"""The actions a hook can take. Each takes (hook, event, context) and returns a short
result to record, or raises Transient (retry with backoff) or Permanent (park as failed).

Every action is written so a repeated delivery (at-least-once) has the effect of one:
HTTP and exec carry the event id for the receiver to drop a duplicate, e-mail keeps one
Message-ID per (hook, event), LDAP add of an existing entry replaces its attributes,
LDAP delete of a missing entry is done, files are replaced whole, and SQL hooks are
expected to be upserts (docs/hooks.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from jetd.hooks.settings import HookSettings
from jetd.hooks.template import TemplateError, document_bytes, fields, render, shell_quote
from provisioning.models import OPERATOR, Event


class Transient(Exception):
    """Worth retrying: the target is down, timed out, or said "later"."""


class Permanent(Exception):
    """Retrying cannot help: a bad template, a 4xx, a refused recipient."""


@dataclass
class Context:
    """What actions share: settings sections they read, the provisioning service, caches."""

    smtp: Any = None  # jetd SmtpSettings
    service: Any = None  # provisioning.service.Service
    engines: dict[str, Any] = field(default_factory=dict)  # sql url -> AsyncEngine
    app: Any = None

    async def close(self) -> None:
        for engine in self.engines.values():
            await engine.dispose()
        self.engines.clear()


Action = Callable[[HookSettings, Event, Context], Awaitable[str]]
ACTIONS: dict[str, Action] = {}


def action(name: str) -> Callable[[Action], Action]:
    def register(fn: Action) -> Action:
        ACTIONS[name] = fn
        return fn
    return register


async def run_action(hook: HookSettings, event: Event, ctx: Context) -> str:
    try:
        return await ACTIONS[hook.action](hook, event, ctx)
    except TemplateError as exc:
        raise Permanent(str(exc)) from None


# --- exec -------------------------------------------------------------------------------------

def event_env(event: Event) -> dict[str, str]:
    """JET_EVENT_ID, JET_EVENT_TYPE, … and JET_<FIELD> for every flat field (upper-cased)."""
    out = {}
    for k, v in fields(event).items():
        name = "JET_" + re.sub(r"[^A-Za-z0-9_]", "_", k).upper()
        out[name] = v.replace("\0", "")
    return out


async def communicate(proc: asyncio.subprocess.Process, data: bytes) -> tuple[bytes, bytes]:
    """``proc.communicate(data)`` for a program that may exit without reading its stdin (its
    exit status is the answer): uvloop raises RuntimeError on writing to the pipe it closed when
    the child exited, and asyncio only forgives BrokenPipeError and ConnectionResetError."""
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    stdin = proc.stdin

    async def feed() -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, RuntimeError):
            stdin.write(data)
            await stdin.drain()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, RuntimeError):
            stdin.close()

    _, out, err = await asyncio.gather(feed(), proc.stdout.read(), proc.stderr.read())
    await proc.wait()
    return out, err


@action("exec")
async def run_exec(hook: HookSettings, event: Event, ctx: Context) -> str:
    values = fields(event)
    argv = [render(a, values) for a in hook.argv]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **event_env(event),
           **{k: render(v, values) for k, v in hook.env.items()}}
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, cwd=hook.cwd, start_new_session=True)
    except OSError as exc:
        raise Transient(f"cannot run {argv[0]}: {exc.strerror}") from None
    try:
        out, err = await asyncio.wait_for(communicate(proc, document_bytes(event)), hook.timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        await proc.wait()
        raise Transient(f"timed out after {hook.timeout}s (killed)") from None
    if proc.returncode != 0:
        tail = (err or out).decode(errors="replace").strip()[-300:]
        raise Transient(f"exit status {proc.returncode}: {tail}")
    return "exit status 0"


# --- http ---------------------------------------------------------------------------------------

def sign(secret: str, timestamp: str, body: bytes) -> str:
    """X-Jet-Signature: ``sha256=`` hex HMAC-SHA256 of ``timestamp + "." + body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@action("http")
async def run_http(hook: HookSettings, event: Event, ctx: Context) -> str:
    import aiohttp

    body = document_bytes(event)
    ts = str(int(time.time()))
    headers = {"Content-Type": "application/json", "User-Agent": "jet-hooks/1",
               "X-Jet-Event": event.type, "X-Jet-Event-Id": str(event.id), "X-Jet-Timestamp": ts,
               **hook.headers}
    if hook.secret:
        headers["X-Jet-Signature"] = sign(hook.secret, ts, body)
    timeout = aiohttp.ClientTimeout(total=hook.timeout)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
                hook.url, data=body, headers=headers, ssl=hook.verify_tls) as resp:
            text = (await resp.text(errors="replace"))[:200]
            status = resp.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise Transient(f"POST {hook.url}: {type(exc).__name__}: {exc}") from None
    if 200 <= status < 300:
        return f"HTTP {status}"
    if status >= 500 or status in (408, 429):
        raise Transient(f"HTTP {status}: {text}")
    raise Permanent(f"HTTP {status}: {text}")


# --- email ------------------------------------------------------------------------------------

def make_message(sender: str, to: str, subject: str, body: str, key: str) -> EmailMessage:
    from invoicing.mailer import headed

    msg = headed(sender=sender, to=to, subject=subject, now=datetime.now(UTC), message_key=key)
    msg.set_content(body)
    return msg


async def send_mail(ctx: Context, to: str, subject: str, body: str, key: str) -> str:
    from invoicing.errors import PermanentDeliveryError, TransientDeliveryError
    from invoicing.mailer import Mailer
    from invoicing.smtp import SmtpConfig

    to = " ".join(to.split())
    if not to or "@" not in to:
        raise Permanent(f"no e-mail address to send to ({to!r})")
    config = SmtpConfig.from_settings(ctx.smtp)
    try:
        return await Mailer(config).send(make_message(config.sender, to, subject, body, key))
    except PermanentDeliveryError as exc:
        raise Permanent(str(exc)) from None
    except TransientDeliveryError as exc:
        raise Transient(str(exc)) from None


@action("email")
async def run_email(hook: HookSettings, event: Event, ctx: Context) -> str:
    values = fields(event)
    to, subject, body = (render(t, values) for t in (hook.to, hook.subject, hook.body))
    return await send_mail(ctx, to, subject, body, f"jet-hook.{hook.name}.{event.id}")


# --- ssh, sftp, ftp ---------------------------------------------------------------------------

async def _ssh_connect(hook: HookSettings) -> Any:
    import asyncssh

    keys = [asyncssh.import_private_key(hook.key)] if hook.key else None
    try:
        return await asyncio.wait_for(asyncssh.connect(
            hook.host, port=hook.port or 22, username=hook.username, client_keys=keys,
            password=hook.password, known_hosts=str(hook.known_hosts), agent_path=None,
            config=None), hook.timeout)
    except asyncssh.HostKeyNotVerifiable as exc:
        raise Permanent(f"ssh {hook.host}: host key not in {hook.known_hosts}: {exc}") from None
    except asyncssh.PermissionDenied as exc:
        raise Permanent(f"ssh {hook.host}: permission denied: {exc}") from None
    except (OSError, TimeoutError, asyncssh.Error) as exc:
        raise Transient(f"ssh {hook.host}: {type(exc).__name__}: {exc}") from None


@action("ssh")
async def run_ssh(hook: HookSettings, event: Event, ctx: Context) -> str:
    """The command runs in the remote login shell: every field value is shell-quoted."""
    import asyncssh

    command = render(hook.command, fields(event), shell_quote)
    conn = await _ssh_connect(hook)
    async with conn:
        try:
            result = await asyncio.wait_for(conn.run(command, input=document_bytes(event).decode()),
                                            hook.timeout)
        except (OSError, TimeoutError, asyncssh.Error) as exc:
            raise Transient(f"ssh {hook.host}: {type(exc).__name__}: {exc}") from None
    if result.exit_status != 0:
        raise Transient(f"remote exit status {result.exit_status}: {str(result.stderr or '')[-300:]}")
    return "remote exit status 0"


async def file_values(hook: HookSettings, event: Event, ctx: Context) -> dict[str, str]:
    """Fields, plus ``$users_file`` / ``$accounts_csv`` of the event's realm when a template uses them."""
    values = fields(event)
    wanted = hook.content + hook.path
    if ("users_file" in wanted or "accounts_csv" in wanted) and ctx.service is not None:
        from provisioning.usersfile import render_users

        accounts = await ctx.service.export_accounts(OPERATOR, hook.realm or event.realm)
        values["users_file"] = render_users(accounts, with_realm=False)
        lines = ["id,realm,username,status,email"]
        lines += [",".join(_csv(x) for x in (a.id, a.realm, a.username, a.status, a.email or ""))
                  for a in accounts]
        values["accounts_csv"] = "\n".join(lines) + "\n"
    return values


def _csv(value: Any) -> str:
    text = str(value)
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


@action("sftp")
async def run_sftp(hook: HookSettings, event: Event, ctx: Context) -> str:
    import asyncssh

    values = await file_values(hook, event, ctx)
    path, content = render(hook.path, values), render(hook.content, values)
    conn = await _ssh_connect(hook)
    async with conn:
        try:
            async with conn.start_sftp_client() as sftp:
                tmp = f"{path}.{event.id}.jet-tmp"
                async with sftp.open(tmp, "wb") as f:
                    await f.write(content.encode())
                try:
                    await sftp.posix_rename(tmp, path)  # atomic replace (OpenSSH extension)
                except asyncssh.SFTPOpUnsupported:
                    if await sftp.exists(path):
                        await sftp.remove(path)
                    await sftp.rename(tmp, path)
        except (OSError, TimeoutError, asyncssh.Error) as exc:
            raise Transient(f"sftp {hook.host}:{path}: {type(exc).__name__}: {exc}") from None
    return f"uploaded {len(content.encode())} bytes to {path}"


@action("ftp")
async def run_ftp(hook: HookSettings, event: Event, ctx: Context) -> str:
    import aioftp

    values = await file_values(hook, event, ctx)
    path, content = render(hook.path, values), render(hook.content, values)
    data = content.encode()
    tmp = f"{path}.{event.id}.jet-tmp"

    async def upload() -> None:
        async with aioftp.Client.context(hook.host, hook.port or 21, hook.username or "anonymous",
                                         hook.password or "anon@") as client:
            async with client.upload_stream(tmp) as stream:
                await stream.write(data)
            if await client.exists(path):
                await client.remove_file(path)
            await client.rename(tmp, path)

    try:
        await asyncio.wait_for(upload(), hook.timeout)
    except aioftp.StatusCodeError as exc:
        codes = [str(c) for c in exc.received_codes]
        error = Permanent if any(c.startswith("5") and c not in ("550",) for c in codes) else Transient
        raise error(f"ftp {hook.host}:{path}: {exc}") from None
    except (OSError, TimeoutError, ConnectionError) as exc:
        raise Transient(f"ftp {hook.host}:{path}: {type(exc).__name__}: {exc}") from None
    return f"uploaded {len(data)} bytes to {path}"


# --- ldap ---------------------------------------------------------------------------------------

@action("ldap")
async def run_ldap(hook: HookSettings, event: Event, ctx: Context) -> str:
    from jetd.hooks.ldapauth import escape_rdn

    values = fields(event)
    dn = render(hook.dn, values, escape_rdn)
    attrs: dict[str, list[str]] = {}
    for name, tmpl in hook.attributes.items():
        items = tmpl if isinstance(tmpl, list) else [tmpl]
        rendered = [render(t, values) for t in items]
        attrs[name] = [v for v in rendered if v != ""]
    return await asyncio.to_thread(_ldap_sync, hook, dn, attrs)


def _ldap_sync(hook: HookSettings, dn: str, attrs: dict[str, list[str]]) -> str:
    from jetd.hooks.ldapauth import LDAPException, discard, ldap3, server

    conn = ldap3.Connection(server(hook.url, hook.timeout), user=hook.bind_dn, password=hook.password,
                            receive_timeout=int(hook.timeout), raise_exceptions=False)
    try:
        conn.open()
        if not conn.bind():
            raise _ldap_error(conn.result)
        if hook.operation == "delete":
            conn.delete(dn)
            if conn.result["result"] in (0, 32):  # success, noSuchObject: gone either way
                return f"deleted {dn}"
        elif hook.operation == "add":
            conn.add(dn, attributes=attrs)
            if conn.result["result"] == 0:
                return f"added {dn}"
            if conn.result["result"] == 68:  # entryAlreadyExists: a redelivery; make it match
                _replace(conn, dn, {k: v for k, v in attrs.items() if k.lower() != "objectclass"})
                return f"replaced {dn}"
        else:
            _replace(conn, dn, attrs)
            return f"modified {dn}"
        raise _ldap_error(conn.result)
    except LDAPException as exc:
        raise Transient(f"ldap {hook.url}: {type(exc).__name__}: {exc}") from None
    finally:
        discard(conn)


def _replace(conn: Any, dn: str, attrs: dict[str, list[str]]) -> None:
    from jetd.hooks.ldapauth import ldap3

    changes = {k: [(ldap3.MODIFY_REPLACE, v)] for k, v in attrs.items()}
    conn.modify(dn, changes)
    if conn.result["result"] != 0:
        raise _ldap_error(conn.result)


def _ldap_error(result: dict[str, Any]) -> Exception:
    code = result.get("result")
    text = f"ldap result {code} {result.get('description')}: {result.get('message')}"
    # busy, unavailable, unwillingToPerform, other, timeLimitExceeded, adminLimitExceeded
    return Transient(text) if code in (3, 11, 51, 52, 53, 80) else Permanent(text)


# --- sql ----------------------------------------------------------------------------------------

@action("sql")
async def run_sql(hook: HookSettings, event: Event, ctx: Context) -> str:
    """One statement with named bind parameters (``:name``); values are bound, never spliced."""
    from sqlalchemy import exc as sa_exc
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    values = fields(event)
    params = {k: _typed(k, render(v, values), hook.param_types.get(k, "text"))
              for k, v in hook.params.items()}
    engine = ctx.engines.get(hook.url)
    if engine is None:
        engine = ctx.engines[hook.url] = create_async_engine(hook.url, pool_pre_ping=True)
    try:
        async with asyncio.timeout(hook.timeout), engine.begin() as conn:
            result = await conn.execute(text(hook.statement), params)
    except (sa_exc.OperationalError, sa_exc.InterfaceError, OSError, TimeoutError) as exc:
        raise Transient(f"sql: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    except sa_exc.DBAPIError as exc:
        if getattr(exc, "connection_invalidated", False):
            raise Transient(f"sql: connection lost: {exc}") from None
        raise Permanent(f"sql: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    except sa_exc.StatementError as exc:
        raise Permanent(f"sql: {str(exc).splitlines()[0]}") from None
    return f"{result.rowcount} rows"


def _typed(name: str, value: str, kind: str) -> Any:
    if kind == "text":
        return value
    if value == "":
        return None
    try:
        if kind == "int":
            return int(value)
        if kind == "decimal":
            return Decimal(value)
        return {"true": True, "false": False, "1": True, "0": False}[value.lower()]
    except (ValueError, KeyError, ArithmeticError):
        raise Permanent(f"sql: parameter {name}: {value!r} is not {kind}") from None


# --- radius-file --------------------------------------------------------------------------------

@action("radius-file")
async def run_radius_file(hook: HookSettings, event: Event, ctx: Context) -> str:
    """Rewrite the realm's FreeRADIUS users file from the store (atomic replace)."""
    from provisioning.usersfile import render_users

    realm = hook.realm or event.realm
    if ctx.service is None or realm is None:
        raise Permanent("radius-file: no realm or no provisioning service")
    accounts = await ctx.service.export_accounts(OPERATOR, realm)
    text = render_users(accounts, with_realm=False)
    path = Path(render(hook.path, {**fields(event), "realm": realm}))
    try:
        await asyncio.to_thread(write_atomically, path, text.encode())
    except OSError as exc:
        raise Transient(f"radius-file {path}: {exc.strerror}") from None
    return f"{len(accounts)} entries in {path}"


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.jet-tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
