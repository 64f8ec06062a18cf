"""The RADIUS service: what jetd answers to Access-Requests and Accounting-Requests.

Handlers return a Reply directly when everything they need is in memory (the common
case: cached account, cleartext or memoised PAP check, plan without bundles), so the
server answers in the same loop iteration; otherwise they return a coroutine.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter

from jetd.hooks.ldapauth import LdapUnavailable, ldap_authenticate
from jetd.radius import authn, replies
from jetd.radius.accounting import Accounting
from jetd.radius.coa import DynamicAuth
from jetd.radius.limits import NOTHING_HELD, held_pools, login_terms
from jetd.radius.metrics import ANSWERS, REJECTS
from jetd.radius.names import split_user_name
from protocols.radius.client import Endpoint
from protocols.radius.dictionary import Dictionary
from protocols.radius.errors import DecodeError, UpstreamTimeout
from protocols.radius.packet import Attr, Code, Packet
from protocols.radius.server import Reply, Request
from provisioning.cache import AccountCache, AuthAccount, AuthRealm
from quota.errors import AccountNotFound, QuotaUnavailable

if TYPE_CHECKING:
    from jetd.app import App
    from rating import Plan

log = logging.getLogger("jetd.radius")

PROXIED = Counter("jet_radius_proxied_total", "Access-Requests relayed to a realm's upstream servers.",
                  ["result"])


def _endpoint(server: Mapping[str, Any]) -> Endpoint:
    """{"address": "host[:port]", "secret": "…"} → an upstream (port 1812 by default)."""
    address = str(server["address"])
    host, sep, port = address.rpartition(":")
    if not sep or "]" in port:
        host, port = address, "1812"
    return Endpoint(host.strip("[]"), int(port), str(server["secret"]).encode())

DEFAULT_REALM = "default"
USER_NAME = int(Attr.USER_NAME)
_ANSWERED = ANSWERS.answered


class RadiusService:
    def __init__(self, app: App) -> None:
        self.app = app
        self.memo = authn.VerifiedPasswords()
        self.clients_vendor = {c.name: c.vendor for c in app.settings.radius.clients}
        self.accounting = Accounting(self)
        self._refreshing: asyncio.Future[int] | None = None
        site = app.services.get("quota_site")
        if site is not None:
            site.replayer = self.accounting.replay
            site.reaper = self.accounting.reap

    # --- what the handlers need, read fresh each time (a reload swaps them) --------------------

    @property
    def cache(self) -> AccountCache:
        cache: AccountCache = self.app.services["account_cache"]
        return cache

    @property
    def dictionary(self) -> Dictionary:
        return self.app.loaded.parts["dictionary"].dictionary  # type: ignore[no-any-return]

    def plan(self, realm: str, name: str | None) -> Plan | None:
        catalog = self.app.loaded.parts.get("catalog")
        if catalog is None or name is None:
            return None
        return catalog.find_plan(realm, name)  # type: ignore[no-any-return]

    @property
    def dynamic_auth(self) -> DynamicAuth:
        dynamic: DynamicAuth | None = self.app.services.get("dynamic_auth")
        if dynamic is None:
            dynamic = self.app.services["dynamic_auth"] = DynamicAuth(self.app)
        return dynamic

    def resolve(self, name: str) -> tuple[AuthRealm | None, str]:
        """User-Name → (the realm that answers for it, the user name within it)."""
        settings = self.app.settings.radius
        realm_part, user = split_user_name(name, settings.realm_formats)
        cache = self.cache
        if realm_part is None:
            return cache.realm(DEFAULT_REALM), user
        realm = cache.realm_for_domain(realm_part)
        if realm is None and settings.unknown_realm == "default":
            return cache.realm(DEFAULT_REALM), name
        return realm, user

    async def refresh_cache(self) -> None:
        """Follow the outbox now (one refresh at a time; concurrent callers share it)."""
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self.cache.refresh())
        try:
            await asyncio.shield(self._refreshing)
        except Exception:  # the database is away: the caller goes on with what it has
            log.warning("account cache refresh failed", exc_info=True)

    def find_account(self, name: str) -> tuple[AuthAccount, str] | None:
        realm, user = self.resolve(name)
        if realm is None:
            return None
        account = self.cache.get(realm.name, user)
        return None if account is None else (account, realm.name)

    # --- Access-Request --------------------------------------------------------------------------

    def on_auth(self, request: Request) -> Reply | Awaitable[Reply | None] | None:
        started = time.perf_counter()
        packet = request.packet
        name = packet.user_name
        if name is None:
            return self._reject(request, "no_user_name", "No User-Name", started)
        realm, user = self.resolve(name)
        cache = self.cache
        if realm is None:
            return self._reject(request, "unknown_realm", "Unknown realm", started)
        if realm.auth_mode == "proxy":
            # The realm's users live in an external RADIUS system: it decides, Jet relays.
            return self._proxy(request, realm, started)
        if realm.auth_mode not in ("local", "ldap"):
            return self._reject(request, "auth_mode_unavailable",
                                f"Realm authentication mode {realm.auth_mode!r} is not available", started)
        account = cache.get(realm.name, user)
        if account is None:
            return self._reject(request, "unknown_user", "Wrong user name or password", started)
        if account.status != "active":
            message = "Account suspended" if account.status == "suspended" else "Account closed"
            return self._reject(request, account.status, message, started)
        if realm.auth_mode == "ldap":
            # The password lives in the realm's directory; plan and status stay Jet's.
            return self._auth_ldap(request, realm, user, account, started)

        hidden = packet.get(Attr.USER_PASSWORD)
        if hidden is not None and account.password_hash and account.cleartext is None \
                and account.nt_hash is None and not self._memo_hit(request, account, hidden):
            return self._auth_slow(request, realm, user, account, started)
        return self._auth_sync(request, realm, user, account, started)

    def _memo_hit(self, request: Request, account: AuthAccount, hidden: bytes) -> bool:
        assert account.password_hash is not None
        password = request.user_password()
        return password is not None and self.memo.known(account.id, account.password_hash, password)

    def _auth_sync(self, request: Request, realm: AuthRealm, user: str, account: AuthAccount,
                   started: float) -> Reply | Awaitable[Reply] | None:
        # No awaits happen on this path: cleartext, memo hit, NT hash, CHAP, MS-CHAPv2.
        coro = authn.authenticate(request.packet, request.client.secret, user, account, self.memo,
                                  realm.allow_chap)
        try:
            coro.send(None)
        except StopIteration as done:
            verdict: authn.Verdict = done.value
        else:  # pragma: no cover - a slow check slipped onto the sync path
            coro.close()
            raise RuntimeError("authentication awaited on the synchronous path")
        return self._decide(request, realm, account, verdict, started)

    async def _auth_slow(self, request: Request, realm: AuthRealm, user: str, account: AuthAccount,
                         started: float) -> Reply | None:
        verdict = await authn.authenticate(request.packet, request.client.secret, user, account, self.memo,
                                           realm.allow_chap)
        reply = self._decide(request, realm, account, verdict, started)
        return reply if isinstance(reply, Reply) else await reply

    async def _proxy(self, request: Request, realm: AuthRealm, started: float) -> Reply | None:
        """Forward to the realm's upstream servers in order (failover); relay the answer.
        auth_settings: {"servers": [{"address": "host:port", "secret": "…"}], "timeout": 3}."""
        try:
            upstreams = [_endpoint(server) for server in realm.auth_settings.get("servers", [])]
        except (KeyError, TypeError, ValueError) as exc:
            log.error("realm %s: bad proxy settings: %s", realm.name, exc)
            return self._reject(request, "proxy_misconfigured", "Realm authentication is misconfigured",
                                started)
        if not upstreams:
            return self._reject(request, "proxy_misconfigured", "Realm authentication is misconfigured",
                                started)
        client = await self.dynamic_auth.client()
        timeout = float(realm.auth_settings.get("timeout", 3))
        packet = request.packet
        if realm.auth_settings.get("strip_realm", True):  # FreeRADIUS strips unless "nostrip"
            _, user = split_user_name(packet.user_name or "", self.app.settings.radius.realm_formats)
            attributes = tuple((key, user.encode()) if key == USER_NAME else (key, value)
                               for key, value in packet.attributes)
            packet = Packet(packet.code, packet.identifier, packet.authenticator, attributes)
        try:
            answer = await client.proxy(upstreams, packet, request.client.secret, retry_interval=timeout)
        except (UpstreamTimeout, DecodeError) as exc:
            log.warning("realm %s: no upstream answered (%s): no answer, the NAS retries", realm.name, exc)
            return None
        PROXIED.labels(result="accept" if answer.code == Code.ACCESS_ACCEPT else "reject").inc()
        _ANSWERED("auth", "accept" if answer.code == Code.ACCESS_ACCEPT else "reject",
                  time.perf_counter() - started)
        return Reply(answer.code, answer.attributes)

    async def _auth_ldap(self, request: Request, realm: AuthRealm, user: str, account: AuthAccount,
                         started: float) -> Reply | None:
        password = request.user_password()
        if password is None:
            return self._reject(request, "method_unavailable", "This realm takes PAP only", started)
        try:
            ok = await ldap_authenticate(realm.auth_settings, user, password.decode("utf-8", "replace"))
        except LdapUnavailable:
            log.warning("LDAP directory of realm %s unreachable: no answer, the NAS retries", realm.name)
            return None
        verdict = authn.Verdict(True, "ok", method="ldap") if ok else authn.reject(
            "bad_password", "Wrong user name or password", "ldap")
        reply = self._decide(request, realm, account, verdict, started)
        return reply if isinstance(reply, Reply) else await reply

    def _decide(self, request: Request, realm: AuthRealm, account: AuthAccount, verdict: authn.Verdict,
                started: float) -> Reply | Awaitable[Reply]:
        if not verdict.ok:
            return self._reject(request, verdict.reason, verdict.message, started)
        now = datetime.fromtimestamp(request.received, UTC)
        plan = self.plan(realm.name, account.plan_on(now.date()))
        if plan is None:
            return self._reject(request, "no_plan", "No plan is active for this account", started)
        terms = plan.terms_at(now)
        if terms.bundles or account.simultaneous_use or plan.prepaid is not None:
            return self._accept_with_quota(request, account, plan, verdict, now, started)
        return self._accept(request, account, verdict, terms.reply, None, started)

    async def _accept_with_quota(self, request: Request, account: AuthAccount, plan: Plan,
                                 verdict: authn.Verdict, now: datetime, started: float) -> Reply:
        """Simultaneous use, then the bundles and the prepaid balance decide the reply
        (``limits.login_terms``): a throttle's attributes, Session-Timeout and a volume limit from
        what is left of them, or a reject."""
        store = self.app.services.get("quota")
        key = str(account.id)
        try:
            if store is None:
                raise QuotaUnavailable("the quota store is not running")
            if account.simultaneous_use:
                open_sessions = await store.sessions(key)
                if len(open_sessions) >= account.simultaneous_use:
                    return self._reject(request, "simultaneous_use",
                                        f"Already {len(open_sessions)} session(s) in use", started)
            try:
                snap = await store.read(key)
                counters, balance = snap.counters, snap.balance
            except AccountNotFound:
                counters, balance = {}, Decimal(0)
            pools = held_pools(plan, now, balance)
            # what Diameter grants hold is promised already: a login gets what is left
            held = await store.holds(key, int(now.timestamp()), pools) if pools else NOTHING_HELD
        except QuotaUnavailable:
            if self.app.settings.radius.redis_down == "reject":
                return self._reject(request, "redis_down", "Service temporarily unavailable", started)
            return self._accept(request, account, verdict, plan.terms_at(now).reply, None, started)
        login = login_terms(plan, now, counters, balance, held)
        if login.refused is not None:
            return self._reject(request, *login.refused, started)
        return self._accept(request, account, verdict, login.reply, login.session_timeout, started,
                            volume=None if login.octets is None else (login.direction, login.octets))

    def _accept(self, request: Request, account: AuthAccount, verdict: authn.Verdict,
                reply: Mapping[str, str], session_timeout: int | None, started: float, *,
                volume: tuple[str, int] | None = None) -> Reply:
        attrs = list(verdict.attributes)
        attrs += replies.accept_attributes(
            self.dictionary,
            vendor=self.clients_vendor.get(request.client.name, "generic"),
            plan_reply=reply,
            account_reply=account.reply,
            interim_interval=self.app.settings.radius.interim_interval or None,
            session_timeout=session_timeout,
            framed_ip=account.static_ip,
            pool=account.pool,
            klass=f"jet:{account.id}".encode(),
            volume=volume,
        )
        _ANSWERED("auth", "accept", time.perf_counter() - started)
        return Reply(Code.ACCESS_ACCEPT, tuple(attrs))

    # --- Accounting-Request -----------------------------------------------------------------

    def on_acct(self, request: Request) -> Awaitable[Reply | None]:
        return self.accounting.handle(request)

    def _reject(self, request: Request, reason: str, message: str, started: float) -> Reply:
        REJECTS.labels(reason=reason).inc()
        _ANSWERED("auth", "reject", time.perf_counter() - started)
        if log.isEnabledFor(logging.INFO):
            log.info("access-reject", extra={"user": request.packet.user_name, "reason": reason,
                                              "nas": request.client.name})
        attrs: list[Any] = []
        if message:
            attrs.append((int(Attr.REPLY_MESSAGE), message.encode()[:253]))
        return Reply(Code.ACCESS_REJECT, tuple(attrs))
