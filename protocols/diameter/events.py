"""Events the sans-IO peer connection hands to its transport (h11 style: frozen, one class each)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .message import Message

if TYPE_CHECKING:
    from .peer import PeerInfo


@dataclass(frozen=True, slots=True)
class PeerOpened:
    """Capabilities exchanged: the connection is Open."""

    peer: PeerInfo


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """An application request (CCR, ...) that passed the base checks: call the handler, then
    `PeerConnection.send_answer(request, answer, now)`."""

    request: Message
    peer: PeerInfo


@dataclass(frozen=True, slots=True)
class AnswerReceived:
    """The answer to a request we sent (`PeerConnection.send_request`), matched by Hop-by-Hop id."""

    answer: Message


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The state machine reached Closed: flush `data_to_send()` and close the socket."""

    reason: str


PeerEvent = PeerOpened | RequestReceived | AnswerReceived | ConnectionClosed
