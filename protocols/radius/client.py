"""The client side: CoA/Disconnect to a NAS (RFC 5176) and proxying to upstream servers.

One ``RadiusClient`` owns one UDP socket on an ephemeral port and matches replies to
requests by (server address, Identifier); every reply is authenticated with
``decode_reply`` before it is accepted. Retries resend the same datagram (RFC 5080
§2.2.1: a retransmission keeps the Identifier and the Request Authenticator).
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from protocols.radius import codec
from protocols.radius.attributes import (
    decrypt_salted,
    encrypt_salted,
    hide_password,
    make_salt,
    unhide_password,
)
from protocols.radius.errors import ClientError, DecodeError, ErrorCause, RadiusError, UpstreamTimeout
from protocols.radius.packet import (
    MS_MPPE_RECV_KEY,
    MS_MPPE_SEND_KEY,
    Attr,
    Attribute,
    Code,
    Packet,
)

COA_PORT: Final = 3799  # RFC 5176 §2.3
_SALTED: Final = frozenset({MS_MPPE_SEND_KEY, MS_MPPE_RECV_KEY})


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A RADIUS server (or a NAS's dynamic-authorization port) and its shared secret."""

    host: str
    port: int
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not self.secret:
            raise ValueError("empty shared secret")
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} out of range")


@dataclass(frozen=True, slots=True)
class DynamicAuthResult:
    """The NAS's answer to a CoA-Request or Disconnect-Request."""

    acked: bool
    error_cause: ErrorCause | int | None
    reply: Packet


@dataclass(frozen=True, slots=True)
class ProxyReply:
    """An upstream's answer, re-encrypted for our client, ready to relay as a ``Reply``.
    Proxy-State and Message-Authenticator are removed (the server adds its own)."""

    code: int
    attributes: tuple[Attribute, ...]
    upstream: Endpoint


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        # (host, port, identifier) -> (future, request authenticator, secret, require MA in reply)
        self.pending: dict[tuple[str, int, int], tuple[asyncio.Future[Packet], bytes, bytes, bool]] = {}
        self.rejected = 0  # replies that failed authentication or matched nothing

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if len(data) < 20:
            self.rejected += 1
            return
        entry = self.pending.get((addr[0], addr[1], data[1]))
        if entry is None:
            self.rejected += 1
            return
        future, authenticator, secret, require_ma = entry
        try:
            reply = codec.decode_reply(data, secret, authenticator, require_message_authenticator=require_ma)
        except DecodeError:
            self.rejected += 1  # RFC 2865 §3: invalid Response Authenticator -> silently discard
            return
        if not future.done():
            future.set_result(reply)

    def error_received(self, exc: Exception) -> None:
        pass


class RadiusClient:
    """Send requests and wait for authenticated replies. Create with ``await RadiusClient.open()``."""

    def __init__(self, transport: asyncio.DatagramTransport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._ids: dict[tuple[str, int], itertools.cycle[int]] = {}
        self._state = itertools.count(1)
        self._resolved: dict[str, str] = {}

    @classmethod
    async def open(cls, local_host: str = "0.0.0.0") -> RadiusClient:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in local_host else socket.AF_INET
        transport, protocol = await loop.create_datagram_endpoint(_Protocol, local_addr=(local_host, 0),
                                                                  family=family)
        return cls(transport, protocol)

    def close(self) -> None:
        for future, *_ in self._protocol.pending.values():
            future.cancel()
        self._transport.close()

    async def _address(self, host: str) -> str:
        try:
            return str(ipaddress.ip_address(host))
        except ValueError:
            pass
        if host not in self._resolved:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_DGRAM)
            self._resolved[host] = str(infos[0][4][0])
        return self._resolved[host]

    def _identifier(self, host: str, port: int) -> int:
        ids = self._ids.setdefault((host, port), itertools.cycle(range(256)))
        for _ in range(256):
            ident = next(ids)
            if (host, port, ident) not in self._protocol.pending:
                return ident
        raise ClientError(f"256 requests outstanding to {host}:{port}")

    async def request(self, endpoint: Endpoint, code: int, attributes: Iterable[Attribute], *,
                      password: bytes | None = None, retry_interval: float = 3.0, retries: int = 2,
                      message_authenticator: bool = True,
                      require_reply_message_authenticator: bool = True) -> Packet:
        """Send one request and return the authenticated reply, or raise ``UpstreamTimeout``.

        ``password`` (Access-Request only) is hidden as User-Password with the
        Request Authenticator drawn here (RFC 2865 §5.2). The request is resent every
        ``retry_interval`` seconds, ``retries`` times, before giving up. Replies to an
        Access-Request without a Message-Authenticator are discarded unless
        ``require_reply_message_authenticator`` is False (BlastRADIUS, CVE-2024-3596).
        """
        host = await self._address(endpoint.host)
        ident = self._identifier(host, endpoint.port)
        authenticator = os.urandom(16)
        attrs = list(attributes)
        if password is not None:
            attrs.append((Attr.USER_PASSWORD.value, hide_password(password, endpoint.secret, authenticator)))
        packet = Packet(code, ident, authenticator, tuple(attrs))
        data = codec.encode_request(packet, endpoint.secret, message_authenticator=message_authenticator)
        if code not in (Code.ACCESS_REQUEST, Code.STATUS_SERVER):
            authenticator = data[4:20]  # computed by encode_request (RFC 2866 §3, RFC 5176 §2.3)
        require_ma = require_reply_message_authenticator and code == Code.ACCESS_REQUEST
        return await self._exchange(host, endpoint, ident, data, authenticator, retry_interval, retries,
                                    require_ma)

    async def _exchange(self, host: str, endpoint: Endpoint, ident: int, data: bytes, authenticator: bytes,
                        retry_interval: float, retries: int, require_ma: bool) -> Packet:
        """Send ``data``, resend it every ``retry_interval`` s up to ``retries`` times, and
        return the first reply that authenticates against ``authenticator``."""
        future: asyncio.Future[Packet] = asyncio.get_running_loop().create_future()
        key = (host, endpoint.port, ident)
        self._protocol.pending[key] = (future, authenticator, endpoint.secret, require_ma)
        try:
            for _ in range(retries + 1):
                self._transport.sendto(data, (host, endpoint.port))
                try:
                    return await asyncio.wait_for(asyncio.shield(future), retry_interval)
                except TimeoutError:
                    continue
            raise UpstreamTimeout(f"no reply from {endpoint.host}:{endpoint.port} after {retries + 1} tries")
        finally:
            del self._protocol.pending[key]
            future.cancel()

    async def _dynamic(self, nas: Endpoint, code: Code, attributes: Iterable[Attribute],
                       retry_interval: float, retries: int) -> DynamicAuthResult:
        reply = await self.request(nas, code, attributes, retry_interval=retry_interval, retries=retries)
        acked = reply.code in (Code.COA_ACK, Code.DISCONNECT_ACK)
        if not acked and reply.code not in (Code.COA_NAK, Code.DISCONNECT_NAK):
            raise ClientError(f"unexpected reply code {reply.code} to code {code}")
        cause = reply.get_int(Attr.ERROR_CAUSE)
        if cause is not None and cause in ErrorCause._value2member_map_:
            cause = ErrorCause(cause)
        return DynamicAuthResult(acked, cause, reply)

    async def disconnect(self, nas: Endpoint, attributes: Iterable[Attribute], *, retry_interval: float = 3.0,
                         retries: int = 2) -> DynamicAuthResult:
        """RFC 5176 §3.1 Disconnect-Request with the attributes identifying the session
        (Acct-Session-Id, User-Name, Framed-IP-Address, NAS-IP-Address...)."""
        return await self._dynamic(nas, Code.DISCONNECT_REQUEST, attributes, retry_interval, retries)

    async def coa(self, nas: Endpoint, attributes: Iterable[Attribute], *, retry_interval: float = 3.0,
                  retries: int = 2) -> DynamicAuthResult:
        """RFC 5176 §3.2 CoA-Request: identifying attributes plus the changes to apply."""
        return await self._dynamic(nas, Code.COA_REQUEST, attributes, retry_interval, retries)

    async def proxy(self, upstreams: Sequence[Endpoint], request: Packet, client_secret: bytes, *,
                    retry_interval: float = 3.0, retries: int = 1,
                    require_reply_message_authenticator: bool = True) -> ProxyReply:
        """Forward an Access-Request to the first upstream that answers (failover in order).

        RFC 2865 §5.33: the proxy adds its own Proxy-State and removes it from the reply.
        User-Password is re-hidden for each upstream; a CHAP request without CHAP-Challenge
        gets the original Request Authenticator as CHAP-Challenge (RFC 2865 §2.2), and
        salted reply attributes are re-encrypted for the client. Upstream replies without a
        Message-Authenticator are discarded unless ``require_reply_message_authenticator``
        is False (for old upstreams; BlastRADIUS, CVE-2024-3596).

        Raises ``UpstreamTimeout`` when no upstream answers, ``DecodeError`` for a malformed
        User-Password or salted reply value, ``ClientError`` for anything but an Access-Request.
        """
        if request.code != Code.ACCESS_REQUEST:
            raise ClientError("only Access-Request is proxied")
        password: bytes | None = None
        attrs: list[Attribute] = []
        for key, value in request.attributes:
            if key == Attr.USER_PASSWORD:
                password = unhide_password(value, client_secret, request.authenticator)
            elif key != Attr.MESSAGE_AUTHENTICATOR:
                attrs.append((key, value))
        if request.has(Attr.CHAP_PASSWORD) and not request.has(Attr.CHAP_CHALLENGE):
            attrs.append((Attr.CHAP_CHALLENGE.value, request.authenticator))
        state = next(self._state).to_bytes(8, "big")
        attrs.append((Attr.PROXY_STATE.value, state))
        last: RadiusError | None = None
        for upstream in upstreams:
            try:
                reply = await self._proxy_once(upstream, attrs, password, retry_interval, retries,
                                               require_reply_message_authenticator)
            except (UpstreamTimeout, ClientError) as exc:
                last = exc
                continue
            return self._relay(reply, upstream, request, client_secret)
        raise UpstreamTimeout(f"no upstream answered: {last}")

    async def _proxy_once(self, upstream: Endpoint, attrs: list[Attribute], password: bytes | None,
                          retry_interval: float, retries: int, require_ma: bool) -> tuple[Packet, bytes]:
        # The authenticator of the proxied request is needed to decrypt salted replies,
        # so capture it by encoding here rather than in ``request``.
        host = await self._address(upstream.host)
        ident = self._identifier(host, upstream.port)
        authenticator = os.urandom(16)
        full = list(attrs)
        if password is not None:
            hidden = hide_password(password, upstream.secret, authenticator)
            full.insert(0, (Attr.USER_PASSWORD.value, hidden))
        data = codec.encode_request(Packet(Code.ACCESS_REQUEST, ident, authenticator, tuple(full)),
                                    upstream.secret, message_authenticator=True)
        reply = await self._exchange(host, upstream, ident, data, authenticator, retry_interval, retries,
                                     require_ma)
        if reply.code not in (Code.ACCESS_ACCEPT, Code.ACCESS_REJECT, Code.ACCESS_CHALLENGE):
            raise ClientError(f"upstream answered code {reply.code}")
        return reply, authenticator

    @staticmethod
    def _relay(answer: tuple[Packet, bytes], upstream: Endpoint, request: Packet,
               client_secret: bytes) -> ProxyReply:
        reply, sent_authenticator = answer
        out: list[Attribute] = []
        for key, value in reply.attributes:
            if key in (Attr.PROXY_STATE, Attr.MESSAGE_AUTHENTICATOR):
                continue
            if key in _SALTED or key == Attr.TUNNEL_PASSWORD:
                tag = b""
                if key == Attr.TUNNEL_PASSWORD:
                    tag, value = value[:1], value[1:]
                plain = decrypt_salted(value, upstream.secret, sent_authenticator)
                value = tag + encrypt_salted(plain, client_secret, request.authenticator,
                                             make_salt(os.urandom(2)))
            out.append((key, value))
        return ProxyReply(reply.code, tuple(out), upstream)
