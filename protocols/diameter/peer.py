"""Sans-IO peer connection: the RFC 6733 §5.6 state machine and the RFC 3539 watchdog.

One `PeerConnection` per transport connection. Feed it bytes and the time; it returns events and
queues bytes to write. It never reads the clock or touches a socket.

    conn = PeerConnection(node, peers, remote_address, role=Role.RESPONDER, cache=cache, now=now)
    events = conn.receive_data(data, now)     # RequestReceived / AnswerReceived / PeerOpened / ...
    transport.write(conn.data_to_send())
    conn.send_answer(request, answer, now)    # after the application handler answered
    conn.handle_timeout(now)                  # at conn.next_deadline()

The transition table is in states.py.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from .base import (
    LocalNode,
    advertised_applications,
    build_cea,
    build_cer,
    build_dpa,
    build_dpr,
    build_dwa,
    build_dwr,
    build_error_answer,
)
from .codec import decode_message, encode_message, message_length, set_hop_by_hop
from .constants import ApplicationId, AvpCode, CommandCode, DisconnectCause, ResultCode
from .dedup import DuplicateCache, EndToEndIds
from .errors import DecodeError, DiameterError, PeerStateError, ProtocolError, UnableToComply
from .events import (
    AnswerReceived,
    ConnectionClosed,
    PeerEvent,
    PeerOpened,
    RequestReceived,
)
from .message import Message
from .states import BASE_COMMANDS, TRANSITIONS, Ev, PeerState, Role
from .validation import check_request
from .values import IpAddress

S = PeerState


@dataclass(frozen=True, slots=True)
class PeerConfig:
    """A gateway allowed to connect: `[[diameter.peers]] origin_host, address`."""

    origin_host: str
    address: IpAddress | None = None


@dataclass(frozen=True, slots=True)
class PeerInfo:
    """The remote peer as learnt from its CER/CEA; handed to the application handler."""

    origin_host: str
    origin_realm: str
    address: str
    applications: frozenset[int]
    product_name: str = ""
    vendor_id: int = 0


Handler = Callable[["PeerConnection", Message | None, float], list[PeerEvent]]


class PeerConnection:
    def __init__(self, node: LocalNode, peers: list[PeerConfig] | tuple[PeerConfig, ...], remote_address: str,
                 *, role: Role = Role.RESPONDER, cache: DuplicateCache | None = None,
                 on_error: Callable[[str], None] | None = None, now: float = 0.0,
                 end_to_end_ids: EndToEndIds | None = None, first_hop_by_hop: int = 1) -> None:
        self.node = node
        self.peers = tuple(peers)
        self.remote_address = remote_address
        self.role = role
        self.cache = cache if cache is not None else DuplicateCache()
        self.on_error = on_error or (lambda reason: None)
        self.peer: PeerInfo | None = None
        self.state = S.WAIT_CER if role is Role.RESPONDER else S.WAIT_I_CEA
        self._out: list[bytes] = []
        self._buf = bytearray()
        self._next_hbh = first_hop_by_hop & 0xFFFFFFFF
        self._e2e = end_to_end_ids if end_to_end_ids is not None else EndToEndIds(first_hop_by_hop)
        self._outstanding: set[int] = set()
        self._deadline: float | None = now + node.cer_timeout
        self._dwr_pending = False
        self._suspect = False
        self.close_requested = False
        self._stop_cause = DisconnectCause.REBOOTING
        if role is Role.INITIATOR:
            self._emit(build_cer(node, *self._ids()))

    # --- outputs ---------------------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    def next_deadline(self) -> float | None:
        return self._deadline

    def _emit(self, msg: Message) -> bytes:
        data = encode_message(msg)
        self._out.append(data)
        return data

    def _ids(self) -> tuple[int, int]:
        """A fresh Hop-by-Hop Identifier (per connection, RFC 6733 §3: "unique ... at any given time")
        and a fresh End-to-End Identifier (from the node-wide source)."""
        hbh = self._next_hbh
        self._next_hbh = (hbh + 1) & 0xFFFFFFFF
        return hbh, self._e2e.next()

    # --- inputs ----------------------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> list[PeerEvent]:
        """Bytes from the transport. Returns the events they produced (possibly none)."""
        if self.state is S.CLOSED:
            return []
        buf = bytes(self._buf) + data if self._buf else data
        events: list[PeerEvent] = []
        pos = 0
        try:
            while True:
                try:
                    n = message_length(buf, pos)
                except DecodeError as exc:
                    # The stream cannot be resynchronised: count it and drop the connection.
                    self.on_error(f"framing: {exc.reason}")
                    buf, pos = b"", 0
                    self.state = S.CLOSED
                    self._close_now()
                    return [*events, ConnectionClosed(f"framing error: {exc.reason}")]
                if n is None or len(buf) - pos < n:
                    return events
                frame = buf[pos:pos + n]
                pos += n
                events += self._receive_message(frame, now)
                if self.close_requested:
                    return events
        finally:
            self._buf = bytearray(buf[pos:])  # keep only the incomplete tail

    def connection_lost(self, now: float) -> list[PeerEvent]:
        if self.state is S.CLOSED:
            return []
        return self._fire(Ev.PEER_DISC, None, now)

    def handle_timeout(self, now: float) -> list[PeerEvent]:
        if self._deadline is None or now < self._deadline:
            return []
        if self.state is S.OPEN:
            return self._fire(Ev.WATCHDOG_EXPIRED if self._suspect else Ev.WATCHDOG_DUE, None, now)
        return self._fire(Ev.TIMEOUT, None, now)

    def stop(self, now: float, cause: DisconnectCause = DisconnectCause.REBOOTING) -> list[PeerEvent]:
        """Local shutdown: DPR when open (RFC 6733 §5.4), else just close."""
        self._stop_cause = cause
        if self.state is S.CLOSED:
            return []
        return self._fire(Ev.STOP, None, now)

    def send_request(self, msg: Message, now: float) -> Message:
        """Queue an application request (RAR, ASR, CCR as a client). Assigns a new Hop-by-Hop
        Identifier and a new End-to-End Identifier, except that a retransmission (T flag set) keeps
        its End-to-End Identifier (RFC 6733 §5.5.4). Await the AnswerReceived with that hop_by_hop."""
        if self.state is not S.OPEN:
            raise PeerStateError(f"cannot send a request in state {self.state.name}")
        if not msg.request:
            raise ValueError("send_request needs a request")
        hbh, e2e = self._ids()
        msg = msg.with_ids(hbh, msg.end_to_end if msg.retransmit else e2e)
        self._outstanding.add(hbh)
        self._emit(msg)
        return msg

    def forget_request(self, hop_by_hop: int) -> None:
        """The transport gave up waiting (timeout): a late answer is then dropped and counted."""
        self._outstanding.discard(hop_by_hop)

    def send_answer(self, request: Message, answer: Message, now: float, *, cache: bool = True) -> None:
        """The application's answer to a RequestReceived. Cached for duplicate detection."""
        if answer.request or answer.hop_by_hop != request.hop_by_hop:
            raise ValueError("not an answer to this request (use Message.answer_to)")
        data = encode_message(answer)
        origin = self._origin_of(request)
        if cache:
            self.cache.store(origin, request.end_to_end, data, now)
        else:
            self.cache.forget(origin, request.end_to_end)
        if self.state in (S.OPEN, S.CLOSING):
            self._out.append(data)

    def _origin_of(self, request: Message) -> str:
        """The duplicate-detection key's host: the request's Origin-Host (RFC 6733 §3), else the peer's."""
        try:
            host = request.origin_host
        except ProtocolError:
            host = None
        return host or (self.peer.origin_host if self.peer is not None else "")

    def error_answer(self, request: Message, error: ProtocolError) -> Message:
        return build_error_answer(self.node, request, error)

    # --- dispatch --------------------------------------------------------------------------------

    def _receive_message(self, frame: bytes, now: float) -> list[PeerEvent]:
        self._heard_from_peer(now)
        try:
            msg = decode_message(frame)
        except DecodeError as exc:
            self.on_error(f"malformed: {type(exc).__name__}: {exc.reason}")
            # RFC 6733 §7.2: answer a request we could read the header of; drop broken answers.
            if exc.header is not None and exc.header.request and self.state is S.OPEN:
                self._emit(build_error_answer(self.node, exc.header, exc))
            return []
        try:
            return self._fire(self._classify(msg), msg, now)
        except ProtocolError as exc:
            # A value read lazily while handling the message was malformed (e.g. a non-UTF-8
            # Origin-Host): answer it like any other protocol error, never let it escape.
            self.on_error(f"malformed: {type(exc).__name__}: {exc.reason}")
            if msg.request and self.state in (S.OPEN, S.CLOSING):
                self._emit(build_error_answer(self.node, msg, exc))
            elif self.state in (S.WAIT_CER, S.WAIT_I_CEA):
                self.state = S.CLOSED
                self._close_now()
                return [ConnectionClosed(f"bad capabilities exchange: {exc.reason}")]
            return []

    def _classify(self, msg: Message) -> Ev:
        base = BASE_COMMANDS.get(msg.command_code)
        if base is None:
            return Ev.APP_REQUEST if msg.request else Ev.APP_ANSWER
        ev = base[0] if msg.request else base[1]
        if ev is Ev.CER_ACCEPTED and self._cer_refusal(msg) is not None:
            return Ev.CER_REFUSED
        if ev is Ev.CEA_SUCCESS and not msg.is_success:
            return Ev.CEA_FAILURE
        return ev

    def _fire(self, ev: Ev, msg: Message | None, now: float) -> list[PeerEvent]:
        entry = TRANSITIONS.get((self.state, ev))
        if entry is None:
            return self._unexpected(ev, msg)
        action, next_state = entry
        handler: Handler = getattr(type(self), action)
        before = self.state
        self.state = next_state
        events = handler(self, msg, now)
        if next_state is S.CLOSED and before is not S.CLOSED:
            self._deadline = None
            self._close_now()
            events.append(ConnectionClosed(f"{ev.name} in {before.name}"))
        return events

    def _unexpected(self, ev: Ev, msg: Message | None) -> list[PeerEvent]:
        self.on_error(f"unexpected {ev.name} in state {self.state.name}")
        if msg is not None and msg.request and self.state is not S.WAIT_CER:
            self._emit(build_error_answer(self.node, msg, UnableToComply(
                f"{ev.name} not allowed in state {self.state.name}")))
        elif self.state is S.WAIT_CER:
            # RFC 6733 §5.6.4 / §5.3: the first message on a connection must be a CER.
            self.state = S.CLOSED
            self._close_now()
            return [ConnectionClosed("first message was not a CER")]
        return []

    def _close_now(self) -> None:
        self.close_requested = True
        self._deadline = None

    def _heard_from_peer(self, now: float) -> None:
        # RFC 3539 §3.4.1: any message received resets the watchdog timer, and a SUSPECT connection
        # returns to OKAY.
        if self.state is S.OPEN:
            self._suspect = False
            if not self._dwr_pending:
                self._deadline = now + self.node.watchdog_interval

    # --- actions (the table's handlers) ----------------------------------------------------------

    def _nothing(self, msg: Message | None, now: float) -> list[PeerEvent]:
        if msg is not None and msg.command_code == CommandCode.DEVICE_WATCHDOG:
            self._dwr_pending = False
            self._deadline = now + self.node.watchdog_interval
        return []

    def _lost(self, msg: Message | None, now: float) -> list[PeerEvent]:
        return []

    def _disconnect(self, msg: Message | None, now: float) -> list[PeerEvent]:
        return []

    def _cer_refusal(self, cer: Message) -> tuple[ResultCode, str] | None:
        try:
            return self._check_cer(cer)
        except ProtocolError as exc:  # e.g. an Origin-Host that is not UTF-8
            return exc.result_code, exc.reason

    def _check_cer(self, cer: Message) -> tuple[ResultCode, str] | None:
        host = cer.origin_host
        if cer.find(AvpCode.ORIGIN_REALM) is None or not host:
            return ResultCode.DIAMETER_MISSING_AVP, "CER without Origin-Host/Origin-Realm"
        if not self._known_peer(host):
            # RFC 6733 §7.1.3 DIAMETER_UNKNOWN_PEER: "A CER was received from an unknown peer."
            # The connection is closed after the CEA.
            why = f"peer {host} from {self.remote_address} is not configured"
            return ResultCode.DIAMETER_UNKNOWN_PEER, why
        if not self._common_applications(cer):
            # RFC 6733 §7.1.5 DIAMETER_NO_COMMON_APPLICATION: returned to a CER "whereby no
            # applications are common between the CER sending peer and the CER receiving peer";
            # the connection is closed after the CEA.
            return ResultCode.DIAMETER_NO_COMMON_APPLICATION, "no application in common"
        self._peer_info(cer)  # every value we keep must be readable
        return None

    def _known_peer(self, host: str) -> bool:
        try:
            remote = ipaddress.ip_address(self.remote_address)
        except ValueError:
            remote = None
        for p in self.peers:
            if p.origin_host.lower() == host.lower() and (p.address is None or p.address == remote):
                return True
        return False

    def _common_applications(self, cer: Message) -> frozenset[int]:
        offered = advertised_applications(cer)
        if ApplicationId.RELAY in offered:
            return frozenset(self.node.auth_application_ids)
        return frozenset(offered) & frozenset(self.node.auth_application_ids)

    def _learn_peer(self, msg: Message) -> PeerInfo:
        self.peer = self._peer_info(msg)
        return self.peer

    def _peer_info(self, msg: Message) -> PeerInfo:
        return PeerInfo(msg.origin_host or "", msg.get_str(AvpCode.ORIGIN_REALM) or "",
                        self.remote_address, self._common_applications(msg),
                        msg.get_str(AvpCode.PRODUCT_NAME) or "", msg.get_u32(AvpCode.VENDOR_ID) or 0)

    def _accept_cer(self, cer: Message | None, now: float) -> list[PeerEvent]:
        assert cer is not None
        self._emit(build_cea(self.node, cer, ResultCode.DIAMETER_SUCCESS))
        self._deadline = now + self.node.watchdog_interval
        return [PeerOpened(self._learn_peer(cer))]

    def _refuse_cer(self, cer: Message | None, now: float) -> list[PeerEvent]:
        assert cer is not None
        refusal = self._cer_refusal(cer)
        assert refusal is not None
        code, why = refusal
        self.on_error(f"cer refused: {code.name}")
        self._emit(build_cea(self.node, cer, code, error_message=why))
        return []

    def _accept_cea(self, cea: Message | None, now: float) -> list[PeerEvent]:
        assert cea is not None
        self._deadline = now + self.node.watchdog_interval
        return [PeerOpened(self._learn_peer(cea))]

    def _answer_dwr(self, dwr: Message | None, now: float) -> list[PeerEvent]:
        assert dwr is not None
        self._emit(build_dwa(self.node, dwr))
        return []

    def _watchdog(self, msg: Message | None, now: float) -> list[PeerEvent]:
        # RFC 3539 §3.4.1 state machine: in OKAY, timer expiry with no DWR pending sends a DWR; with one
        # pending, the connection becomes SUSPECT; expiry in SUSPECT closes it (Ev.WATCHDOG_EXPIRED).
        if self._dwr_pending:
            self._suspect = True
        else:
            self._emit(build_dwr(self.node, *self._ids()))
            self._dwr_pending = True
        self._deadline = now + self.node.watchdog_interval
        return []

    def _answer_dpr(self, dpr: Message | None, now: float) -> list[PeerEvent]:
        # RFC 6733 §5.4: the DPR sender closes the connection once it has the DPA; we wait for that,
        # at most dpa_timeout.
        assert dpr is not None
        self._emit(build_dpa(self.node, dpr))
        self._deadline = now + self.node.dpa_timeout
        return []

    def _send_dpr(self, msg: Message | None, now: float) -> list[PeerEvent]:
        self._emit(build_dpr(self.node, *self._ids(), self._stop_cause))
        self._deadline = now + self.node.dpa_timeout
        return []

    def _process_answer(self, answer: Message | None, now: float) -> list[PeerEvent]:
        assert answer is not None
        if answer.hop_by_hop not in self._outstanding:
            # RFC 6733 §6.2: an answer whose Hop-by-Hop Identifier matches no pending request is
            # discarded (we count it).
            self.on_error("answer for an unknown Hop-by-Hop Identifier")
            return []
        self._outstanding.discard(answer.hop_by_hop)
        return [AnswerReceived(answer)]

    def _process_request(self, req: Message | None, now: float) -> list[PeerEvent]:
        assert req is not None and self.peer is not None
        origin = self._origin_of(req)
        cached = self.cache.lookup(origin, req.end_to_end, now)
        if cached is not None:
            if cached:
                self._out.append(set_hop_by_hop(cached, req.hop_by_hop))
            # Still in progress: the peer will retransmit again; answering twice is worse.
            return []
        try:
            check_request(req, self.peer.applications)
        except ProtocolError as exc:
            self.on_error(f"refused: {type(exc).__name__}")
            self.send_answer(req, build_error_answer(self.node, req, exc), now)
            return []
        except DiameterError as exc:  # pragma: no cover - check_request raises ProtocolErrors only
            self.on_error(f"refused: {exc}")
            return []
        self.cache.begin(origin, req.end_to_end, now)
        return [RequestReceived(req, self.peer)]
