"""The sans-IO peer state machine, driven with bytes and a fake clock."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.diameter.base import LocalNode
from protocols.diameter.codec import decode_message, encode_message
from protocols.diameter.constants import AvpCode, CommandCode, ResultCode
from protocols.diameter.dedup import DuplicateCache, EndToEndIds
from protocols.diameter.errors import PeerStateError
from protocols.diameter.events import AnswerReceived, ConnectionClosed, PeerOpened, RequestReceived
from protocols.diameter.message import Message
from protocols.diameter.peer import PeerConfig, PeerConnection
from protocols.diameter.states import TRANSITIONS, PeerState, Role
from tests.protocols.diameter import gateway

NODE = LocalNode("jet.example.net", "example.net", watchdog_interval=30.0)
PEERS = [PeerConfig("pgw1.example.net", ipaddress.IPv4Address("127.0.0.1"))]


def _read_all(conn: PeerConnection) -> list[Message]:
    data = conn.data_to_send()
    out = []
    while data:
        n = int.from_bytes(data[1:4], "big")
        out.append(decode_message(data[:n]))
        data = data[n:]
    return out


def _open(errors: list[str] | None = None, cache: DuplicateCache | None = None) -> PeerConnection:
    conn = PeerConnection(NODE, PEERS, "127.0.0.1", cache=cache, now=0.0,
                          on_error=(errors.append if errors is not None else None))
    events = conn.receive_data(gateway.cer().as_bytes(), 1.0)
    assert isinstance(events[0], PeerOpened)
    (cea,) = _read_all(conn)
    assert cea.result_code == ResultCode.DIAMETER_SUCCESS
    return conn


def test_table_covers_the_responder_path() -> None:
    states = {s for s, _ in TRANSITIONS}
    assert {PeerState.WAIT_CER, PeerState.OPEN, PeerState.CLOSING} <= states
    assert all(isinstance(h, str) and hasattr(PeerConnection, h) for h, _ in TRANSITIONS.values())


def test_cer_from_configured_peer_opens() -> None:
    conn = _open()
    assert conn.state is PeerState.OPEN
    assert conn.peer is not None and conn.peer.applications == {4}


def test_cer_from_unknown_host_or_wrong_address_is_refused_with_3010() -> None:
    for host, address in (("intruder.example.net", "127.0.0.1"), ("pgw1.example.net", "10.9.9.9")):
        conn = PeerConnection(NODE, PEERS, address, now=0.0)
        events = conn.receive_data(gateway.cer(host).as_bytes(), 0.1)
        (cea,) = _read_all(conn)
        assert cea.result_code == ResultCode.DIAMETER_UNKNOWN_PEER and cea.error
        assert isinstance(events[-1], ConnectionClosed) and conn.close_requested
        assert conn.state is PeerState.CLOSED


def test_cer_without_common_application_gets_5010() -> None:
    conn = PeerConnection(NODE, PEERS, "127.0.0.1", now=0.0)
    conn.receive_data(gateway.cer(applications=(16777238,)).as_bytes(), 0.1)
    (cea,) = _read_all(conn)
    assert cea.result_code == ResultCode.DIAMETER_NO_COMMON_APPLICATION
    assert conn.close_requested


def test_first_message_not_cer_closes_and_cer_timeout_closes() -> None:
    conn = PeerConnection(NODE, PEERS, "127.0.0.1", now=0.0)
    assert isinstance(conn.receive_data(gateway.dwr().as_bytes(), 0.1)[-1], ConnectionClosed)
    conn = PeerConnection(NODE, PEERS, "127.0.0.1", now=0.0)
    assert conn.handle_timeout(5.0) == []
    assert isinstance(conn.handle_timeout(NODE.cer_timeout)[-1], ConnectionClosed)


def test_dwr_is_answered_and_idle_peer_is_watched_then_dropped() -> None:
    conn = _open()
    conn.receive_data(gateway.dwr().as_bytes(), 2.0)
    (dwa,) = _read_all(conn)
    assert dwa.command_code == CommandCode.DEVICE_WATCHDOG and dwa.result_code == 2001
    # RFC 3539: idle for Tw -> DWR; no answer for Tw -> suspect; another Tw -> down
    assert conn.next_deadline() == 32.0
    conn.handle_timeout(32.0)
    (dwr,) = _read_all(conn)
    assert dwr.request and dwr.command_code == CommandCode.DEVICE_WATCHDOG
    assert conn.handle_timeout(62.0) == [] and conn.state is PeerState.OPEN
    assert isinstance(conn.handle_timeout(92.0)[-1], ConnectionClosed)


def test_dwa_clears_the_watchdog() -> None:
    conn = _open()
    conn.handle_timeout(31.0)
    (dwr,) = _read_all(conn)
    dwa = Message.answer_to(dwr, [decode_message(gateway.dwr().as_bytes()).avps[0]])
    conn.receive_data(encode_message(Message(dwa.command_code, 0, (*dwa.avps,), hop_by_hop=dwr.hop_by_hop,
                                             end_to_end=dwr.end_to_end)), 33.0)
    assert conn.next_deadline() == 63.0


def test_dpr_is_answered_then_connection_closes() -> None:
    conn = _open()
    conn.receive_data(gateway.dpr().as_bytes(), 5.0)
    (dpa,) = _read_all(conn)
    assert dpa.command_code == CommandCode.DISCONNECT_PEER and dpa.result_code == 2001
    assert conn.state is PeerState.CLOSING
    assert isinstance(conn.connection_lost(5.1)[-1], ConnectionClosed)


def test_application_request_passes_and_duplicate_is_answered_from_cache() -> None:
    cache = DuplicateCache(window=30)
    conn = _open(cache=cache)
    ccr = gateway.ccr_initial(hop_by_hop=50, end_to_end=77)
    (ev,) = conn.receive_data(ccr.as_bytes(), 2.0)
    assert isinstance(ev, RequestReceived)
    # a retransmission while the first is still being processed is not handed over twice
    ccr.header.is_retransmit = True
    assert conn.receive_data(ccr.as_bytes(), 2.1) == []
    answer = Message.answer_to(ev.request, [decode_message(gateway.dwr().as_bytes()).avps[0]])
    conn.send_answer(ev.request, answer, 2.2)
    _read_all(conn)
    again = gateway.ccr_initial(hop_by_hop=51, end_to_end=77)
    again.header.is_retransmit = True
    assert conn.receive_data(again.as_bytes(), 3.0) == []
    (cached,) = _read_all(conn)
    assert cached.hop_by_hop == 51 and cached.end_to_end == 77
    # after the window it is new again
    assert isinstance(conn.receive_data(again.as_bytes(), 40.0)[0], RequestReceived)


@pytest.mark.parametrize(("mutate", "code", "failed"), [
    (lambda m: setattr(m.header, "application_id", 16777238), ResultCode.DIAMETER_APPLICATION_UNSUPPORTED,
     None),
    (lambda m: setattr(m, "service_context_id", None), ResultCode.DIAMETER_MISSING_AVP,
     AvpCode.SERVICE_CONTEXT_ID),
    (lambda m: setattr(m, "cc_request_type", 9), ResultCode.DIAMETER_INVALID_AVP_VALUE,
     AvpCode.CC_REQUEST_TYPE),
])
def test_invalid_requests_are_answered_with_result_code_and_failed_avp(mutate, code, failed) -> None:  # type: ignore[no-untyped-def]
    errors: list[str] = []
    conn = _open(errors)
    ccr = gateway.ccr_initial()
    mutate(ccr)
    assert conn.receive_data(ccr.as_bytes(), 2.0) == []
    (answer,) = _read_all(conn)
    assert answer.result_code == code
    assert answer.error == (3000 <= code < 4000)
    if failed is not None:
        group = answer.find(AvpCode.FAILED_AVP)
        assert group is not None and group.avps[0].code == failed
    assert errors


def test_unknown_mandatory_avp_gets_5001_with_the_avp() -> None:
    from diameter.message.avp import Avp as PdAvp

    conn = _open()
    ccr = gateway.ccr_initial()
    ccr.append_avp(PdAvp(code=99999, vendor_id=0, payload=b"\0\0\0\1", flags=0x40))
    conn.receive_data(ccr.as_bytes(), 2.0)
    (answer,) = _read_all(conn)
    assert answer.result_code == ResultCode.DIAMETER_AVP_UNSUPPORTED
    failed = answer.find(AvpCode.FAILED_AVP)
    assert failed is not None and failed.avps[0].code == 99999


def test_unknown_command_gets_3001_with_e_bit() -> None:
    conn = _open()
    raw = bytearray(gateway.ccr_initial().as_bytes())
    raw[5:8] = (999).to_bytes(3, "big")
    conn.receive_data(bytes(raw), 2.0)
    (answer,) = _read_all(conn)
    assert answer.result_code == ResultCode.DIAMETER_COMMAND_UNSUPPORTED and answer.error


def test_malformed_request_is_answered_and_counted_and_connection_survives() -> None:
    errors: list[str] = []
    conn = _open(errors)
    raw = bytearray(gateway.ccr_initial(hop_by_hop=9).as_bytes())
    raw[24] |= 0x1F  # reserved AVP flag bits on the first AVP
    assert conn.receive_data(bytes(raw), 2.0) == []
    (answer,) = _read_all(conn)
    assert answer.result_code == ResultCode.DIAMETER_INVALID_AVP_BITS and answer.error
    assert answer.hop_by_hop == 9 and errors and conn.state is PeerState.OPEN
    assert isinstance(conn.receive_data(gateway.ccr_initial().as_bytes(), 2.1)[0], RequestReceived)


def test_other_version_is_answered_with_5011() -> None:
    conn = _open()
    raw = bytearray(gateway.ccr_initial(hop_by_hop=5).as_bytes())
    raw[0] = 2
    assert conn.receive_data(bytes(raw), 2.0) == []
    (answer,) = _read_all(conn)
    assert answer.result_code == ResultCode.DIAMETER_UNSUPPORTED_VERSION and answer.hop_by_hop == 5


def test_unaligned_message_length_is_answered_with_5015_and_repeated_avp_with_5009() -> None:
    conn = _open()
    raw = gateway.ccr_initial(hop_by_hop=6).as_bytes() + b"\0\0\0"
    raw = raw[:1] + len(raw).to_bytes(3, "big") + raw[4:]
    conn.receive_data(raw, 2.0)
    (answer,) = _read_all(conn)
    assert answer.result_code == ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH and answer.hop_by_hop == 6
    ccr = decode_message(gateway.ccr_initial().as_bytes())
    twice = Message(ccr.command_code, 4, (*ccr.avps, ccr.avps[0]), request=True, hop_by_hop=8, end_to_end=8)
    conn.receive_data(encode_message(twice), 2.1)
    (answer,) = _read_all(conn)
    assert answer.result_code == ResultCode.DIAMETER_AVP_OCCURS_TOO_MANY_TIMES


def test_garbage_framing_closes_only_this_connection() -> None:
    errors: list[str] = []
    conn = _open(errors)
    events = conn.receive_data(b"GET / HTTP/1.1\r\n", 2.0)
    assert isinstance(events[-1], ConnectionClosed) and errors


def test_sending_requests_and_matching_answers() -> None:
    conn = _open()
    rar = Message(258, 4, (), request=True)
    sent = conn.send_request(rar, 3.0)
    (out,) = _read_all(conn)
    assert out.hop_by_hop == sent.hop_by_hop
    raa = Message.answer_to(sent, [])
    (ev,) = conn.receive_data(encode_message(raa), 3.5)
    assert isinstance(ev, AnswerReceived) and ev.answer.hop_by_hop == sent.hop_by_hop
    errors: list[str] = []
    conn.on_error = errors.append
    assert conn.receive_data(encode_message(raa), 3.6) == [] and errors  # unknown hop-by-hop now
    conn.stop(4.0)
    (dpr,) = _read_all(conn)
    assert dpr.command_code == CommandCode.DISCONNECT_PEER and conn.state is PeerState.CLOSING
    with pytest.raises(PeerStateError):
        conn.send_request(rar, 4.1)


def test_sent_requests_get_fresh_ids_and_retransmissions_keep_end_to_end() -> None:
    ids = EndToEndIds(EndToEndIds.seed_from(1_764_000_000, 0xABCDE))
    assert ids.next() >> 20 == 1_764_000_000 & 0xFFF
    conn = PeerConnection(NODE, PEERS, "127.0.0.1", now=0.0, end_to_end_ids=ids)
    conn.receive_data(gateway.cer().as_bytes(), 0.1)
    rar = Message(258, 4, (), request=True, hop_by_hop=7, end_to_end=7)
    first, second = conn.send_request(rar, 1.0), conn.send_request(rar, 1.0)
    assert first.hop_by_hop != second.hop_by_hop and first.end_to_end != second.end_to_end
    again = Message(258, 4, (), request=True, retransmit=True, end_to_end=first.end_to_end)
    assert conn.send_request(again, 2.0).end_to_end == first.end_to_end


def test_initiator_sends_cer_and_opens_on_cea() -> None:
    server = PeerConnection(NODE, [PeerConfig("client.example.net")], "127.0.0.1", now=0.0)
    client = PeerConnection(LocalNode("client.example.net", "example.net"), (), "127.0.0.1",
                            role=Role.INITIATOR, now=0.0)
    server.receive_data(client.data_to_send(), 0.1)
    events = client.receive_data(server.data_to_send(), 0.2)
    assert isinstance(events[0], PeerOpened) and client.state is PeerState.OPEN
    assert events[0].peer.origin_host == "jet.example.net"


def test_cer_with_unreadable_origin_host_is_refused_not_crashed() -> None:
    cer = gateway.cer()
    raw = bytearray(cer.as_bytes())
    at = raw.find(b"pgw1.example.net")
    raw[at] = 0xFF  # not UTF-8
    conn = PeerConnection(NODE, PEERS, "127.0.0.1", now=0.0)
    events = conn.receive_data(bytes(raw), 0.1)
    (cea,) = _read_all(conn)
    assert cea.result_code == ResultCode.DIAMETER_INVALID_AVP_VALUE
    assert isinstance(events[-1], ConnectionClosed)


CCR_BYTES = gateway.ccr_initial(request_type=2, number=1).as_bytes()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(CCR_BYTES) - 1), st.integers(0, 255)), max_size=4),
       st.integers(1, 64), st.binary(max_size=24))
def test_open_connection_survives_mutated_streams(
        edits: list[tuple[int, int]], chunk: int, tail: bytes) -> None:
    """Whatever arrives, receive_data returns events or closes the connection; it never raises."""
    conn = _open([])
    raw = bytearray(CCR_BYTES)
    for pos, value in edits:
        raw[pos] = value
    stream = bytes(raw) + CCR_BYTES + tail
    for i in range(0, len(stream), chunk):
        conn.receive_data(stream[i:i + chunk], 2.0)
        conn.data_to_send()
        if conn.close_requested:
            break
