"""Diameter messages: the frozen `Header` and `Message` (RFC 6733 §3).

      0                   1                   2                   3
     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
     |    Version    |                 Message Length                |
     | Command Flags |                  Command Code                 |
     |                         Application-ID                        |
     |                      Hop-by-Hop Identifier                    |
     |                      End-to-End Identifier                    |
     |  AVPs ...
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .avp import MAX_U32, Avp, AvpContainer
from .constants import FLAG_ERROR, FLAG_PROXIABLE, FLAG_REQUEST, FLAG_RETRANSMIT, AvpCode, ResultCode


@dataclass(frozen=True, slots=True)
class Header:
    version: int
    length: int
    flags: int
    command_code: int
    application_id: int
    hop_by_hop: int
    end_to_end: int

    @property
    def request(self) -> bool:
        return bool(self.flags & FLAG_REQUEST)


@dataclass(frozen=True, slots=True)
class Message(AvpContainer):
    """A Diameter message. Build requests with `Message(...)`, answers with `Message.answer_to`."""

    command_code: int
    application_id: int
    avps: tuple[Avp, ...] = ()
    request: bool = False
    proxiable: bool = False
    error: bool = False
    retransmit: bool = False
    hop_by_hop: int = 0
    end_to_end: int = 0
    _size: int = field(default=0, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.avps, tuple):
            object.__setattr__(self, "avps", tuple(self.avps))
        if not all(isinstance(a, Avp) for a in self.avps):
            raise TypeError("Message.avps must hold Avp instances")
        if not 0 <= self.command_code <= 0xFFFFFF:
            raise ValueError(f"command code out of range: {self.command_code}")
        for name in ("application_id", "hop_by_hop", "end_to_end"):
            if not 0 <= getattr(self, name) <= MAX_U32:
                raise ValueError(f"{name} out of range")
        # RFC 6733 §3: "E(rror) - ... Messages with the 'E' bit set are commonly referred to as error
        # messages. This bit MUST NOT be set in request messages."
        if self.request and self.error:
            raise ValueError("the E bit must not be set on a request")

    def _items(self) -> tuple[Avp, ...]:
        return self.avps

    @property
    def flags(self) -> int:
        return ((FLAG_REQUEST if self.request else 0) | (FLAG_PROXIABLE if self.proxiable else 0)
                | (FLAG_ERROR if self.error else 0) | (FLAG_RETRANSMIT if self.retransmit else 0))

    @property
    def session_id(self) -> str | None:
        return self.get_str(AvpCode.SESSION_ID)

    @property
    def origin_host(self) -> str | None:
        return self.get_str(AvpCode.ORIGIN_HOST)

    @property
    def result_code(self) -> int | None:
        return self.get_u32(AvpCode.RESULT_CODE)

    def with_ids(self, hop_by_hop: int, end_to_end: int) -> Message:
        return Message(self.command_code, self.application_id, self.avps, self.request, self.proxiable,
                       self.error, self.retransmit, hop_by_hop, end_to_end)

    @classmethod
    def answer_to(cls, request: Message, avps: Iterable[Avp], *, error: bool = False) -> Message:
        """An answer to `request` carrying `avps` (which should include Result-Code, Origin-Host/Realm).

        RFC 6733 §6.2: the answer carries the request's Hop-by-Hop and End-to-End Identifiers and the
        same 'P' bit. RFC 6733 §8.8: the Session-Id "MUST appear immediately following the Diameter
        header", so it is moved first if the request had one.
        """
        items = tuple(avps)
        sid = request.find(AvpCode.SESSION_ID)
        if sid is not None:
            items = (sid, *(a for a in items if not (a.code == AvpCode.SESSION_ID and a.vendor_id == 0)))
        return cls(request.command_code, request.application_id, items, request=False,
                   proxiable=request.proxiable, error=error, hop_by_hop=request.hop_by_hop,
                   end_to_end=request.end_to_end)

    @property
    def is_success(self) -> bool:
        rc = self.result_code
        return rc is not None and 2000 <= rc < 3000

    def describe(self) -> str:
        kind = "Request" if self.request else "Answer"
        return f"{self.command_code}/{kind} app={self.application_id} hbh={self.hop_by_hop:#x}"


SUCCESS = ResultCode.DIAMETER_SUCCESS
