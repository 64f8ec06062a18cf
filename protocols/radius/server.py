"""The UDP server transport: a thin ``asyncio.DatagramProtocol`` over the sans-IO codec.

Per datagram: client by source address -> duplicate check -> in-flight bound ->
``decode_request`` -> the application's handler -> ``encode_reply`` -> send + cache.
Every datagram that gets no answer is reported once through ``on_drop(reason)``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, cast

from protocols.radius import codec, errors, reuseport
from protocols.radius.attributes import unhide_password
from protocols.radius.dedup import IN_PROGRESS, DuplicateCache
from protocols.radius.errors import DecodeError, RadiusError
from protocols.radius.packet import Attr, Attribute, Code, Packet, check_attributes

log = logging.getLogger(__name__)

AUTH_CODES: Final = frozenset({int(Code.ACCESS_REQUEST), int(Code.STATUS_SERVER)})
ACCT_CODES: Final = frozenset({int(Code.ACCOUNTING_REQUEST), int(Code.STATUS_SERVER)})
_STATUS_SERVER: Final = int(Code.STATUS_SERVER)
_USER_PASSWORD: Final = int(Attr.USER_PASSWORD)

# Which reply codes answer which request codes (RFC 2865 §3, RFC 2866 §3, RFC 5997 §3).
REPLY_CODES: Final[dict[int, frozenset[int]]] = {
    int(request): frozenset(int(r) for r in replies) for request, replies in (
        (Code.ACCESS_REQUEST, (Code.ACCESS_ACCEPT, Code.ACCESS_REJECT, Code.ACCESS_CHALLENGE)),
        (Code.ACCOUNTING_REQUEST, (Code.ACCOUNTING_RESPONSE,)),
        (Code.STATUS_SERVER, (Code.ACCESS_ACCEPT, Code.ACCOUNTING_RESPONSE)),
    )
}

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """A NAS allowed to talk to us (``[[radius.clients]]``)."""

    name: str
    network: IPNetwork
    secret: bytes
    require_message_authenticator: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.network, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            object.__setattr__(self, "network", ipaddress.ip_network(self.network, strict=False))
        if not self.secret:
            raise ValueError(f"client {self.name!r}: empty shared secret")


class ClientTable:
    """Clients by source address, longest prefix first; lookups memoised per address."""

    def __init__(self, clients: Iterable[ClientConfig]) -> None:
        self._clients = sorted(clients, key=lambda c: c.network.prefixlen, reverse=True)
        self._memo: dict[str, ClientConfig | None] = {}

    def __len__(self) -> int:
        return len(self._clients)

    def lookup(self, address: str) -> ClientConfig | None:
        try:
            return self._memo[address]
        except KeyError:
            pass
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        found = next((c for c in self._clients if ip.version == c.network.version and ip in c.network), None)
        if len(self._memo) > 65536:
            self._memo.clear()
        self._memo[address] = found
        return found


@dataclass(frozen=True, slots=True)
class Request:
    """An authenticated request handed to the application."""

    packet: Packet
    client: ClientConfig
    source: tuple[str, int]
    received: float  # wall clock (time.time()) when the datagram arrived

    def user_password(self) -> bytes | None:
        """The unhidden User-Password (RFC 2865 §5.2), or None if absent or malformed."""
        hidden = self.packet.get(_USER_PASSWORD)
        if hidden is None:
            return None
        try:
            return unhide_password(hidden, self.client.secret, self.packet.authenticator)
        except DecodeError:
            return None

    def reply(self, code: int, attributes: Iterable[Attribute] = ()) -> Reply:
        return Reply(code, tuple(attributes))


@dataclass(frozen=True, slots=True)
class Reply:
    """What the handler answers. Message-Authenticator and Proxy-State are added for it."""

    code: int
    attributes: tuple[Attribute, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.code <= 255:
            raise errors.EncodeError(f"reply code {self.code} out of range")
        if not isinstance(self.attributes, tuple):
            object.__setattr__(self, "attributes", tuple(self.attributes))
        check_attributes(self.attributes)


HandlerResult = Reply | None
Handler = Callable[[Request], Awaitable[HandlerResult] | HandlerResult]
OnDrop = Callable[[str], None]


def _ignore_drop(reason: str) -> None:
    return None


class RadiusServerProtocol(asyncio.DatagramProtocol):
    """One listening socket. ``handler`` may return a ``Reply``/None directly (answered
    in the same loop iteration, no task) or an awaitable of one (run as a task)."""

    def __init__(self, clients: ClientTable, handler: Handler, *, on_drop: OnDrop = _ignore_drop,
                 codes: Iterable[int] = AUTH_CODES, max_in_flight: int = 4096,
                 duplicate_window: float = 5.0, answer_status_server: bool = True) -> None:
        self._clients = clients
        self._handler = handler
        self._on_drop = on_drop
        self._codes = frozenset(int(c) for c in codes)
        self._max_in_flight = max_in_flight
        self._cache = DuplicateCache(duplicate_window)
        self._answer_status = answer_status_server
        self._transport: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Future[HandlerResult]] = set()
        self._loop = asyncio.get_running_loop()
        self.in_flight = 0
        self.resent = 0  # duplicates answered from the cache
        self.accepting = True  # False once draining: new requests are dropped ("shutdown")

    def set_clients(self, clients: ClientTable) -> None:
        """Swap the client table (a config reload); requests in flight keep their client."""
        self._clients = clients

    # --- asyncio.DatagramProtocol ------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (uvloop's and 3.11's selector datagram transports do not subclass DatagramTransport)
        self._transport = cast(asyncio.DatagramTransport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def error_received(self, exc: Exception) -> None:
        log.debug("radius socket error: %s", exc)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            self._received(data, addr)
        except Exception:  # the transport is the boundary: nothing may stop the receive loop
            log.exception("radius: unexpected error on a datagram from %s", addr)
            self._on_drop(errors.HANDLER_ERROR)

    # --- the pipeline ----------------------------------------------------------------

    def _received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        client = self._clients.lookup(addr[0])
        if client is None:
            self._on_drop(errors.UNKNOWN_CLIENT)
            return
        if len(data) < 20:
            self._on_drop(errors.MALFORMED)
            return
        key = (addr, data[1], data[4:20])
        cached = self._cache.get(key, self._loop.time())
        if cached is not None:
            if cached is IN_PROGRESS:
                self._on_drop(errors.DUPLICATE)
            elif self._transport is not None:
                self.resent += 1
                self._transport.sendto(cached, addr)  # type: ignore[arg-type]
            return
        if not self.accepting:
            self._on_drop(errors.SHUTDOWN)  # the NAS retransmits to another server
            return
        if self.in_flight >= self._max_in_flight:
            self._on_drop(errors.OVERLOAD)
            return
        try:
            packet = codec.decode_request(data, client.secret,
                                          require_message_authenticator=client.require_message_authenticator)
        except DecodeError as exc:
            self._on_drop(exc.reason)
            return
        if packet.code not in self._codes:
            self._on_drop(errors.UNSUPPORTED_CODE)
            return
        request = Request(packet, client, (addr[0], addr[1]), time.time())
        if packet.code == _STATUS_SERVER and self._answer_status:
            # RFC 5997 §3: answer on the authentication port with Access-Accept, on the
            # accounting port with Accounting-Response.
            code = Code.ACCESS_ACCEPT if Code.ACCESS_REQUEST in self._codes else Code.ACCOUNTING_RESPONSE
            self._complete(key, request, Reply(code))
            return
        result = self._handler(request)
        if result is None or isinstance(result, Reply):
            self._complete(key, request, result)
            return
        self._cache.start(key)
        self.in_flight += 1
        task = asyncio.ensure_future(result)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, key, request))

    def _done(self, task: asyncio.Future[HandlerResult], key: object, request: Request) -> None:
        self._tasks.discard(task)
        self.in_flight -= 1
        if task.cancelled():
            self._cache.forget(key)
            self._on_drop(errors.HANDLER_ERROR)
            return
        exc = task.exception()
        if exc is not None:
            self._cache.forget(key)
            log.error("radius handler failed for %s", request.source, exc_info=exc)
            self._on_drop(errors.HANDLER_ERROR)
            return
        self._complete(key, request, task.result())

    def _complete(self, key: object, request: Request, reply: HandlerResult) -> None:
        if reply is None:
            # e.g. RFC 2866 §4.1: no Accounting-Response until the record is durable.
            self._cache.forget(key)
            self._on_drop(errors.NO_REPLY)
            return
        allowed = REPLY_CODES.get(request.packet.code)
        try:
            if allowed is not None and reply.code not in allowed:
                raise errors.EncodeError(f"reply code {reply.code} does not answer {request.packet.code}")
            data = codec.encode_reply(request.packet, reply.code, reply.attributes, request.client.secret)
        except RadiusError:
            self._cache.forget(key)
            log.exception("radius: cannot encode the reply to %s", request.source)
            self._on_drop(errors.HANDLER_ERROR)
            return
        self._cache.finish(key, data, self._loop.time())
        if self._transport is not None:
            self._transport.sendto(data, request.source)

    async def drain(self) -> None:
        """Stop taking new requests and wait for the handlers still running. Replies to
        them are still sent, and retransmissions still get cached replies."""
        self.accepting = False
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def bind_udp(host: str, port: int, *, reuse_port: bool = True, rcvbuf: int = 4 << 20) -> socket.socket:
    """A non-blocking UDP socket bound with SO_REUSEPORT, so N worker processes can
    share the port (a ``reuseport`` program decides which gets a packet)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        except OSError:
            pass
        sock.bind((host, port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


@dataclass(slots=True)
class RadiusServer:
    """A running listener: ``address`` is the bound (host, port)."""

    transport: asyncio.DatagramTransport
    protocol: RadiusServerProtocol

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    async def close(self, *, drain: bool = True) -> None:
        if drain:
            await self.protocol.drain()
        self.transport.close()


async def start_server(host: str, port: int, clients: ClientTable, handler: Handler, *,
                       on_drop: OnDrop = _ignore_drop, codes: Iterable[int] = AUTH_CODES,
                       max_in_flight: int = 4096, duplicate_window: float = 5.0,
                       reuse_port: bool = True, spread_over: int = 1, spread_by: str = "identifier"
                       ) -> RadiusServer:
    """Bind ``host:port`` and serve. ``codes``: AUTH_CODES for 1812, ACCT_CODES for 1813.
    ``spread_over``: how many processes share the port; they take its requests by
    ``spread_by`` (``identifier`` or ``user_name``, see ``reuseport``); 1 leaves the kernel's
    4-tuple hash."""
    loop = asyncio.get_running_loop()
    sock = bind_udp(host, port, reuse_port=reuse_port)
    if reuse_port:
        reuseport.SPREADS[spread_by](sock, spread_over)
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: RadiusServerProtocol(clients, handler, on_drop=on_drop, codes=codes,
                                     max_in_flight=max_in_flight, duplicate_window=duplicate_window),
        sock=sock)
    return RadiusServer(transport, protocol)
