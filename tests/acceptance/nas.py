"""A NAS stand-in: receives CoA/Disconnect-Requests on its own UDP port and ACKs them."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

from protocols.radius import codec
from protocols.radius.dictionary import load_dictionary
from protocols.radius.packet import Code, Packet

DICTIONARY = load_dictionary()


@dataclass
class NasStandIn:
    secret: bytes
    answer: int = Code.COA_ACK
    received: list[Packet] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            packet = codec.decode_request(data, self.secret)
            self.received.append(packet)
            ack = Code.COA_ACK if packet.code == Code.COA_REQUEST else Code.DISCONNECT_ACK
            self.sock.sendto(codec.encode_reply(packet, ack, [], self.secret), addr)

    def attributes(self, packet: Packet) -> dict[str, object]:
        return dict(DICTIONARY.decode(packet))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()
