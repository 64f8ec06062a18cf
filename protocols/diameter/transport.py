"""Thin asyncio TCP transport around the sans-IO `PeerConnection` (uvloop-friendly `asyncio.Protocol`).

Server (Jet as Gy server):
    server = DiameterServer(node, peers, handler, on_error=count)
    await server.start("0.0.0.0", 3868)
    answer = await server.send_request("pgw1.example.net", build_rar(node, ...), timeout=5)
    await server.stop()

Client (tests, benchmarks, Jet as a client later):
    client = await DiameterClient.connect("127.0.0.1", 3868, node)
    cca = await client.request(ccr, timeout=5)
    await client.close()          # DPR/DPA, then the socket closes
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import cast

from .base import LocalNode
from .constants import DisconnectCause
from .dedup import DuplicateCache, EndToEndIds
from .errors import AnswerTimeout, PeerStateError, ProtocolError, UnableToComply
from .events import AnswerReceived, ConnectionClosed, PeerEvent, PeerOpened, RequestReceived
from .message import Message
from .peer import PeerConfig, PeerConnection, PeerInfo
from .states import PeerState, Role

Handler = Callable[[Message, PeerInfo], Awaitable[Message]]

_process_ids: EndToEndIds | None = None


def process_end_to_end_ids() -> EndToEndIds:
    """One End-to-End Identifier source per process, seeded per RFC 6733 §3 (time + random), so no two
    connections of this process ever reuse an identifier within minutes."""
    global _process_ids
    if _process_ids is None:
        _process_ids = EndToEndIds(EndToEndIds.seed_from(time.time(), secrets.randbits(20)))
    return _process_ids
ErrorCallback = Callable[[str], None]


async def _refuse(request: Message, peer: PeerInfo) -> Message:
    raise UnableToComply("no application handler on this side")


class PeerProtocol(asyncio.Protocol):
    """One TCP connection: bytes + loop time in, bytes out; application requests go to `handler`."""

    def __init__(self, node: LocalNode, peers: Sequence[PeerConfig], handler: Handler, *, role: Role,
                 cache: DuplicateCache, on_error: ErrorCallback,
                 on_open: Callable[[PeerProtocol], None] | None = None,
                 on_close: Callable[[PeerProtocol], None] | None = None) -> None:
        self.node, self.peers, self.handler, self.role = node, tuple(peers), handler, role
        self.cache, self.on_error, self._on_open, self._on_close = cache, on_error, on_open, on_close
        self.loop = asyncio.get_running_loop()
        self.conn: PeerConnection | None = None
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[PeerInfo] = self.loop.create_future()
        self.closed: asyncio.Future[None] = self.loop.create_future()
        self._timer: asyncio.TimerHandle | None = None
        self._waiting: dict[int, asyncio.Future[Message]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._flush_soon = False

    # --- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport does not subclass asyncio.Transport, so no isinstance() here.
        self.transport = cast(asyncio.Transport, transport)
        peername = transport.get_extra_info("peername")
        remote = str(peername[0]) if peername else ""
        self.conn = PeerConnection(self.node, self.peers, remote, role=self.role, cache=self.cache,
                                   on_error=self.on_error, now=self.loop.time(),
                                   end_to_end_ids=process_end_to_end_ids(),
                                   first_hop_by_hop=secrets.randbits(32))
        self._pump([])

    def data_received(self, data: bytes) -> None:
        if self.conn is not None:
            self._pump(self.conn.receive_data(data, self.loop.time()))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.conn is not None:
            self._handle(self.conn.connection_lost(self.loop.time()))
        for fut in self._waiting.values():
            if not fut.done():
                fut.set_exception(PeerStateError("connection closed"))
        self._waiting.clear()
        if not self.opened.done():
            self.opened.set_exception(PeerStateError("connection closed before capabilities exchange"))
        if not self.closed.done():
            self.closed.set_result(None)
        if self._on_close is not None:
            self._on_close(self)

    # --- plumbing --------------------------------------------------------------------------------

    def _pump(self, events: list[PeerEvent]) -> None:
        conn, transport = self.conn, self.transport
        assert conn is not None and transport is not None
        out = conn.data_to_send()
        if out and not transport.is_closing():
            transport.write(out)
        self._handle(events)
        if conn.close_requested and not transport.is_closing():
            transport.close()
        self._arm_timer()

    def _handle(self, events: list[PeerEvent]) -> None:
        for ev in events:
            if isinstance(ev, RequestReceived):
                task = self.loop.create_task(self._serve(ev.request, ev.peer))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif isinstance(ev, AnswerReceived):
                fut = self._waiting.pop(ev.answer.hop_by_hop, None)
                if fut is not None and not fut.done():
                    fut.set_result(ev.answer)
            elif isinstance(ev, PeerOpened):
                if not self.opened.done():
                    self.opened.set_result(ev.peer)
                if self._on_open is not None:
                    self._on_open(self)
            elif isinstance(ev, ConnectionClosed) and not self.opened.done():
                self.opened.set_exception(PeerStateError(f"capabilities exchange failed: {ev.reason}"))

    def _arm_timer(self) -> None:
        # The watchdog deadline moves forward with every message; rather than re-arming per message, a
        # timer that fires early finds nothing due (handle_timeout returns []) and re-arms itself.
        deadline = self.conn.next_deadline() if self.conn is not None else None
        if self._timer is not None:
            if deadline is not None and self._timer.when() <= deadline:
                return
            self._timer.cancel()
            self._timer = None
        if deadline is not None and self.transport is not None and not self.transport.is_closing():
            self._timer = self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self.conn is not None:
            self._pump(self.conn.handle_timeout(self.loop.time()))

    async def _serve(self, request: Message, peer: PeerInfo) -> None:
        conn = self.conn
        assert conn is not None
        cache = True
        try:
            answer = await self.handler(request, peer)
            if answer.request or answer.hop_by_hop != request.hop_by_hop:
                raise UnableToComply("handler returned something that is not the answer")
        except ProtocolError as exc:
            answer = conn.error_answer(request, exc)
        except Exception as exc:  # a bug in the handler must not kill the connection
            self.on_error(f"handler failed: {type(exc).__name__}")
            answer = conn.error_answer(request, UnableToComply("internal error"))
            cache = False  # let a retransmission try again
        conn.send_answer(request, answer, self.loop.time(), cache=cache)
        self._send_soon()

    def _send_soon(self) -> None:
        """What is queued goes out at the end of this loop iteration: the answers (or requests)
        finished in one iteration leave in one write, one syscall and one wakeup of the peer,
        rather than one each."""
        if not self._flush_soon:
            self._flush_soon = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_soon = False
        if self.conn is not None and self.transport is not None and not self.transport.is_closing():
            self._pump([])

    # --- API -------------------------------------------------------------------------------------

    @property
    def peer(self) -> PeerInfo | None:
        return self.conn.peer if self.conn is not None else None

    @property
    def is_open(self) -> bool:
        return self.conn is not None and self.conn.state is PeerState.OPEN

    async def request(self, msg: Message, answer_timeout: float) -> Message:
        """Send a request and wait for its answer (matched by Hop-by-Hop Identifier).

        `answer_timeout` is the protocol's answer timer: when it fires the request is forgotten by the
        state machine too (a late answer is then dropped and counted), which an outer
        asyncio.timeout() alone would not do."""
        if self.conn is None:
            raise PeerStateError("not connected")
        sent = self.conn.send_request(msg, self.loop.time())
        fut: asyncio.Future[Message] = self.loop.create_future()
        self._waiting[sent.hop_by_hop] = fut
        self._send_soon()
        try:
            return await asyncio.wait_for(fut, answer_timeout)
        except TimeoutError:
            raise AnswerTimeout(f"no answer to {sent.describe()} within {answer_timeout}s") from None
        finally:
            if self._waiting.pop(sent.hop_by_hop, None) is not None:
                self.conn.forget_request(sent.hop_by_hop)

    async def close(self, cause: DisconnectCause = DisconnectCause.REBOOTING,
                    dpa_timeout: float = 5.0) -> None:
        """DPR, wait for the DPA (or the timeout), close the socket."""
        if self.conn is not None and self.transport is not None and not self.transport.is_closing():
            self._pump(self.conn.stop(self.loop.time(), cause))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.closed), dpa_timeout)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
        await self.closed


class DiameterServer:
    """The Gy server "site": accepts gateways, answers base messages, routes CCRs to `handler`."""

    def __init__(self, node: LocalNode, peers: Sequence[PeerConfig], handler: Handler, *,
                 on_error: ErrorCallback | None = None, cache: DuplicateCache | None = None) -> None:
        self.node, self.peers, self.handler = node, tuple(peers), handler
        self.on_error: ErrorCallback = on_error or (lambda reason: None)
        self.cache = cache if cache is not None else DuplicateCache()
        self.connections: set[PeerProtocol] = set()
        self._by_host: dict[str, PeerProtocol] = {}
        self._server: asyncio.Server | None = None

    def _factory(self) -> PeerProtocol:
        proto = PeerProtocol(self.node, self.peers, self.handler, role=Role.RESPONDER, cache=self.cache,
                             on_error=self.on_error, on_open=self._opened, on_close=self._closed)
        self.connections.add(proto)
        return proto

    def _opened(self, proto: PeerProtocol) -> None:
        if proto.peer is not None:
            self._by_host[proto.peer.origin_host.lower()] = proto

    def _closed(self, proto: PeerProtocol) -> None:
        self.connections.discard(proto)
        if proto.peer is not None and self._by_host.get(proto.peer.origin_host.lower()) is proto:
            del self._by_host[proto.peer.origin_host.lower()]

    async def start(self, host: str, port: int, *, reuse_port: bool = False) -> None:
        """Listen; ``reuse_port``: share the port with other processes (SO_REUSEPORT), the kernel
        giving each new connection to one of them."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._factory, host, port, reuse_port=reuse_port or None)

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    def peer_connection(self, origin_host: str) -> PeerProtocol | None:
        proto = self._by_host.get(origin_host.lower())
        return proto if proto is not None and proto.is_open else None

    async def send_request(self, origin_host: str, msg: Message, answer_timeout: float = 5.0) -> Message:
        """Send RAR/ASR to a connected gateway and await its answer; PeerStateError if not connected,
        AnswerTimeout after `answer_timeout` seconds."""
        proto = self.peer_connection(origin_host)
        if proto is None:
            raise PeerStateError(f"peer {origin_host} is not connected")
        return await proto.request(msg, answer_timeout)

    async def stop(self, dpa_timeout: float = 2.0) -> None:
        """Stop accepting, DPR every open peer (RFC 6733 §5.4), close what is left."""
        if self._server is not None:
            self._server.close()
        conns = list(self.connections)
        if conns:
            await asyncio.gather(*(c.close(DisconnectCause.REBOOTING, dpa_timeout) for c in conns),
                                 return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None


class DiameterClient:
    """Initiator side: connect, CER/CEA, DWR when idle (the watchdog), DPR on close."""

    def __init__(self, proto: PeerProtocol) -> None:
        self.protocol = proto

    @classmethod
    async def connect(cls, host: str, port: int, node: LocalNode, *, handler: Handler | None = None,
                      on_error: ErrorCallback | None = None, cea_timeout: float = 5.0) -> DiameterClient:
        loop = asyncio.get_running_loop()
        errors: ErrorCallback = on_error or (lambda reason: None)
        _, proto = await loop.create_connection(
            lambda: PeerProtocol(node, (), handler or _refuse, role=Role.INITIATOR, cache=DuplicateCache(),
                                 on_error=errors), host, port)
        try:
            await asyncio.wait_for(asyncio.shield(proto.opened), cea_timeout)
        except BaseException:
            if proto.transport is not None:
                proto.transport.close()
            raise
        return cls(proto)

    @property
    def peer(self) -> PeerInfo | None:
        return self.protocol.peer

    async def request(self, msg: Message, answer_timeout: float = 5.0) -> Message:
        return await self.protocol.request(msg, answer_timeout)

    async def close(self, dpa_timeout: float = 5.0) -> None:
        await self.protocol.close(DisconnectCause.REBOOTING, dpa_timeout)
