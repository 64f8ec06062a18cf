"""Realm auth mode ``ldap``: check a PAP password against the realm's directory.

The realm's ``auth_settings``:

| key            | meaning                                                                  |
|----------------|--------------------------------------------------------------------------|
| url            | ``ldap://host:389`` or ``ldaps://host:636`` (required)                   |
| bind_dn        | direct bind: a template with ``{user}``, e.g. ``uid={user},ou=people,dc=isp,dc=example`` |
| base_dn        | search-then-bind: where to search (with ``filter``)                      |
| filter         | search-then-bind filter with ``{user}``; default ``(uid={user})``        |
| search_dn, search_password | the service account that searches (anonymous when absent)  |
| timeout        | seconds for connect and each operation (default 5)                       |
| pool_size      | connections kept per directory (default 4)                               |
| start_tls      | upgrade ``ldap://`` with StartTLS (default false)                        |

With ``bind_dn`` the user's DN is built from the template (the name escaped as an RDN
value); otherwise the DN is searched for under ``base_dn`` (the name escaped as a filter
value) and the password checked by binding as it. An empty password is always refused
(an LDAP "unauthenticated bind" would succeed). Directory unreachable raises
``LdapUnavailable`` so the caller can tell "wrong password" (False) from "cannot ask".

Connections are pooled per (url, service account): each is re-bound per request, so a
request costs one or two round trips, not a TCP and maybe TLS handshake. ldap3 is
blocking; requests run in a thread, at most ``pool_size`` per directory at once.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import warnings
from collections.abc import Mapping
from typing import Any

with warnings.catch_warnings():
    # ldap3 2.9.1 imports pyasn1 names that pyasn1 0.6 deprecates (a DeprecationWarning on import).
    warnings.simplefilter("ignore", DeprecationWarning)
    import ldap3
    from ldap3.core.exceptions import LDAPException
    from ldap3.utils.conv import escape_filter_chars
    from ldap3.utils.dn import escape_rdn


__all__ = [
    "LDAPException",
    "LdapUnavailable",
    "close_pools",
    "discard",
    "escape_rdn",
    "ldap3",
    "ldap_authenticate",
    "server",
]


class LdapUnavailable(Exception):
    """The directory could not be asked (down, timeout, misconfigured)."""


class _Pool:
    def __init__(self, url: str, timeout: float, size: int, start_tls: bool) -> None:
        self.url = url
        self.timeout = timeout
        self.start_tls = start_tls
        self.idle: queue.LifoQueue[ldap3.Connection] = queue.LifoQueue()
        self.gate = asyncio.Semaphore(size)

    def take(self) -> tuple[ldap3.Connection, bool]:
        """(connection, whether it came from the pool)."""
        try:
            return self.idle.get_nowait(), True
        except queue.Empty:
            pass
        # A fresh Server each time: ldap3 remembers an address that failed once as unusable.
        conn = ldap3.Connection(server(self.url, self.timeout), receive_timeout=int(max(1, self.timeout)),
                                raise_exceptions=False, auto_referrals=False)
        try:
            conn.open()
            if self.start_tls and not conn.start_tls():
                discard(conn)
                raise LdapUnavailable(f"StartTLS to {self.url} failed: {conn.result}")
        except LDAPException as exc:
            discard(conn)
            raise LdapUnavailable(f"cannot connect to {self.url}: {exc}") from None
        return conn, False

    def give(self, conn: ldap3.Connection) -> None:
        self.idle.put(conn)


def discard(conn: ldap3.Connection) -> None:
    """Unbind, and make sure the socket is closed even when the server is gone."""
    try:
        conn.unbind()
    except LDAPException:
        pass
    sock = getattr(conn, "socket", None)
    if sock is not None:
        try:
            sock.close()
        except OSError:
            pass


def server(url: str, timeout: float) -> ldap3.Server:
    """ldap3 takes ``ldap://host:port`` but not the trailing ``/`` of an RFC 4516 URL."""
    return ldap3.Server(url.rstrip("/"), connect_timeout=timeout, get_info=ldap3.NONE)


_POOLS: dict[tuple[Any, ...], _Pool] = {}
_POOLS_LOCK = threading.Lock()


def _pool(settings: Mapping[str, Any]) -> _Pool:
    key = (settings["url"], float(settings.get("timeout", 5)), int(settings.get("pool_size", 4)),
           bool(settings.get("start_tls", False)))
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = _Pool(*key)
        return pool


async def ldap_authenticate(realm_settings: Mapping[str, Any], user: str, password: str) -> bool:
    """True if ``password`` is ``user``'s in the realm's directory; False if not (or no such
    user); raises LdapUnavailable when the directory cannot be asked."""
    if not password or not user:
        return False
    pool = _pool(realm_settings)
    async with pool.gate:
        return await asyncio.to_thread(_authenticate, pool, realm_settings, user, password)


def _authenticate(pool: _Pool, s: Mapping[str, Any], user: str, password: str) -> bool:
    while True:
        conn, pooled = pool.take()
        try:
            return _check(pool, conn, s, user, password)
        except LdapUnavailable:
            if not pooled:
                raise
            # A pooled connection may have gone stale (the server restarted): once more, fresh.


def _check(pool: _Pool, conn: ldap3.Connection, s: Mapping[str, Any], user: str, password: str) -> bool:
    healthy = False
    try:
        if s.get("bind_dn"):
            dn = str(s["bind_dn"]).replace("{user}", escape_rdn(user))
        else:
            found = _search(conn, s, user)
            if found is None:
                healthy = True
                return False
            dn = found
        ok = bool(conn.rebind(user=dn, password=password))
        code = conn.result.get("result") if conn.result else None
        if not ok and code not in (49, 32, 50, 53):  # invalidCredentials, noSuchObject, …
            raise LdapUnavailable(f"bind as {dn}: {conn.result}")
        healthy = True
        return ok
    except LDAPException as exc:
        raise LdapUnavailable(f"{pool.url}: {type(exc).__name__}: {exc}") from None
    finally:
        if healthy:
            pool.give(conn)
        else:
            discard(conn)


def _search(conn: ldap3.Connection, s: Mapping[str, Any], user: str) -> str | None:
    base = s.get("base_dn")
    if not base:
        raise LdapUnavailable("auth_settings need bind_dn, or base_dn to search under")
    if not conn.rebind(user=s.get("search_dn"), password=s.get("search_password")):
        raise LdapUnavailable(f"service bind as {s.get('search_dn')!r} refused: {conn.result}")
    flt = str(s.get("filter", "(uid={user})")).replace("{user}", escape_filter_chars(user))
    if not conn.search(base, flt, search_scope=ldap3.SUBTREE, attributes=[], size_limit=2,
                       time_limit=int(max(1, float(s.get("timeout", 5))))):
        code = conn.result.get("result") if conn.result else None
        if code in (0, 32):  # nothing found
            return None
        raise LdapUnavailable(f"search under {base}: {conn.result}")
    entries = [e for e in conn.response or [] if e.get("type") == "searchResEntry"]
    if len(entries) != 1:
        return None  # none, or ambiguous: refuse rather than guess
    return str(entries[0]["dn"])


def close_pools() -> None:
    with _POOLS_LOCK:
        for pool in _POOLS.values():
            while True:
                try:
                    discard(pool.idle.get_nowait())
                except queue.Empty:
                    break
        _POOLS.clear()
