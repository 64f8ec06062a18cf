"""A Diameter credit-control session as jetd keeps it (in memory, and in Redis after every request
it answers: ``state``; quota.credit), and the answer the service gives to a request."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgpack

from protocols.diameter import Avp, ServiceGrant, ServiceRequest

SINGLE = -1  # the rating group key of a single-service (no MSCC) gateway


def rating_group(service: ServiceRequest) -> int:
    return SINGLE if service.rating_group is None else service.rating_group


@dataclass
class GySession:
    """One Diameter credit-control session: in memory, and in Redis after every request answered
    (``state``; quota.credit), so a restarted jetd takes it up at its next request."""

    session_id: str
    account: str
    user: str
    realm: str
    peer_host: str  # the gateway the session's last request came from: RAR/ASR go there
    peer_realm: str
    started: int
    seen: float = 0.0  # arrival of the last request (session supervision)
    counters: dict[int, dict[str, int]] = field(default_factory=dict)  # cumulative, per rating group
    exhausted: set[int] = field(default_factory=set)  # rating groups given their final units
    held: set[int] = field(default_factory=set)  # rating groups with a grant held in Redis
    number: int = 0  # the CC-Request-Number of the last request applied
    a_number: str = ""  # a call's numbers (IMS-Information of the CCR-Initial), for its price
    b_number: str = ""
    origin: str = ""  # the gateway of the CCR-Initial: the NAS its usage is recorded under, for good

    @property
    def nas(self) -> str:
        return f"diameter:{self.origin or self.peer_host}"

    def hold_id(self, rg: int) -> str:
        return f"{self.session_id}#{rg}"

    def state(self) -> bytes:
        packed: bytes = msgpack.packb(
            {"v": 1, "account": self.account, "user": self.user, "realm": self.realm,
             "peer_host": self.peer_host, "peer_realm": self.peer_realm, "started": self.started,
             "seen": self.seen, "counters": self.counters, "exhausted": sorted(self.exhausted),
             "held": sorted(self.held), "number": self.number, "a": self.a_number, "b": self.b_number,
             "origin": self.origin},
            use_bin_type=True)
        return packed

    @classmethod
    def from_state(cls, session_id: str, state: bytes) -> GySession:
        s = msgpack.unpackb(state, raw=False, strict_map_key=False)
        return cls(session_id, s["account"], s["user"], s["realm"], s["peer_host"], s["peer_realm"],
                   s["started"], s["seen"], {int(rg): dict(c) for rg, c in s["counters"].items()},
                   set(s["exhausted"]), set(s["held"]), s.get("number", 0), s.get("a", ""), s.get("b", ""),
                   s.get("origin", ""))


@dataclass(frozen=True)
class Answer:
    result: int
    grants: tuple[ServiceGrant, ...] = ()
    single: ServiceGrant | None = None  # a single-service gateway's grant (top-level AVPs)
    extra: tuple[Avp, ...] = ()  # e.g. Cost-Information, Check-Balance-Result
