"""The peer state machine's states, events and transition table (RFC 6733 §5.6, RFC 3539).

State table (RFC 6733 §5.6, responder and initiator; the election of §5.6.4 for simultaneous
connections is not implemented). A (state, event) pair missing from TRANSITIONS is a protocol error.

    state       event             action                       next state
    Wait-CER    CER (accepted)    Process-CER, Snd-CEA         Open
    Wait-CER    CER (refused)     Snd-CEA(error), Disc         Closed
    Wait-I-CEA  CEA (success)     Process-CEA                  Open
    Open        DWR / DWA         Process-DWR, Snd-DWA / -     Open
    Open        DPR               Snd-DPA                      Closing
    Open        Stop              Snd-DPR                      Closing
    Closing     DPA / Timeout     Disc                         Closed
    any         Peer-Disc         -                            Closed
"""

from __future__ import annotations

from enum import Enum, auto

from .constants import CommandCode


class Role(Enum):
    RESPONDER = auto()
    INITIATOR = auto()


class PeerState(Enum):
    CLOSED = auto()
    WAIT_CER = auto()
    WAIT_I_CEA = auto()
    OPEN = auto()
    CLOSING = auto()


class Ev(Enum):
    CER_ACCEPTED = auto()
    CER_REFUSED = auto()
    CEA_SUCCESS = auto()
    CEA_FAILURE = auto()
    DWR = auto()
    DWA = auto()
    DPR = auto()
    DPA = auto()
    APP_REQUEST = auto()
    APP_ANSWER = auto()
    STOP = auto()
    TIMEOUT = auto()
    WATCHDOG_DUE = auto()
    WATCHDOG_EXPIRED = auto()
    PEER_DISC = auto()


S = PeerState

# Missing pairs are protocol errors: the message is refused (requests get DIAMETER_UNABLE_TO_COMPLY).
TRANSITIONS: dict[tuple[PeerState, Ev], tuple[str, PeerState]] = {
    (S.WAIT_CER, Ev.CER_ACCEPTED): ("_accept_cer", S.OPEN),
    (S.WAIT_CER, Ev.CER_REFUSED): ("_refuse_cer", S.CLOSED),
    (S.WAIT_CER, Ev.TIMEOUT): ("_disconnect", S.CLOSED),
    (S.WAIT_CER, Ev.STOP): ("_disconnect", S.CLOSED),
    (S.WAIT_CER, Ev.PEER_DISC): ("_lost", S.CLOSED),
    (S.WAIT_I_CEA, Ev.CEA_SUCCESS): ("_accept_cea", S.OPEN),
    (S.WAIT_I_CEA, Ev.CEA_FAILURE): ("_disconnect", S.CLOSED),
    (S.WAIT_I_CEA, Ev.TIMEOUT): ("_disconnect", S.CLOSED),
    (S.WAIT_I_CEA, Ev.STOP): ("_disconnect", S.CLOSED),
    (S.WAIT_I_CEA, Ev.PEER_DISC): ("_lost", S.CLOSED),
    (S.OPEN, Ev.APP_REQUEST): ("_process_request", S.OPEN),
    (S.OPEN, Ev.APP_ANSWER): ("_process_answer", S.OPEN),
    (S.OPEN, Ev.DWR): ("_answer_dwr", S.OPEN),
    (S.OPEN, Ev.DWA): ("_nothing", S.OPEN),
    (S.OPEN, Ev.WATCHDOG_DUE): ("_watchdog", S.OPEN),
    (S.OPEN, Ev.WATCHDOG_EXPIRED): ("_disconnect", S.CLOSED),
    (S.OPEN, Ev.DPR): ("_answer_dpr", S.CLOSING),
    (S.OPEN, Ev.STOP): ("_send_dpr", S.CLOSING),
    (S.OPEN, Ev.PEER_DISC): ("_lost", S.CLOSED),
    (S.CLOSING, Ev.DPA): ("_disconnect", S.CLOSED),
    (S.CLOSING, Ev.DPR): ("_answer_dpr", S.CLOSING),
    (S.CLOSING, Ev.DWR): ("_answer_dwr", S.CLOSING),
    (S.CLOSING, Ev.DWA): ("_nothing", S.CLOSING),
    (S.CLOSING, Ev.APP_ANSWER): ("_process_answer", S.CLOSING),
    (S.CLOSING, Ev.TIMEOUT): ("_disconnect", S.CLOSED),
    (S.CLOSING, Ev.STOP): ("_nothing", S.CLOSING),
    (S.CLOSING, Ev.PEER_DISC): ("_lost", S.CLOSED),
}

# Base-protocol commands and the events their (request, answer) raise before classification.
BASE_COMMANDS: dict[int, tuple[Ev, Ev]] = {
    CommandCode.CAPABILITIES_EXCHANGE: (Ev.CER_ACCEPTED, Ev.CEA_SUCCESS),
    CommandCode.DEVICE_WATCHDOG: (Ev.DWR, Ev.DWA),
    CommandCode.DISCONNECT_PEER: (Ev.DPR, Ev.DPA),
}


