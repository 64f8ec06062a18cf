"""The completed-session hand-off to the invoicer: record building and stream encoding.

Stream ``jet:sessions:{K}`` (K = shard of the account), one entry per stopped session,
fields ``v`` (schema version), ``acct``, ``sid`` (session key) and ``d`` (msgpack of the
record below). Delivery is at-least-once: Stop moves the session to the account's
"done" keys in the same atomic call; the façade XADDs, then acknowledges (deletes) it;
a crash between the two leaves it pending and ``QuotaStore.redeliver`` sends it again.
The consumer de-duplicates by (account, session key).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgpack

from quota.model import CompletedSession

SCHEMA_VERSION = 1


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


def decode_charges(blob: bytes | None) -> tuple[dict[str, Any], ...]:
    """The session's charges: concatenated msgpack maps, in the order they were applied."""
    if not blob:
        return ()
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(blob)
    return tuple(unpacker)


def completed_from_hash(account: str, key: str, fields: Mapping[str, bytes], charges: bytes | None
                        ) -> CompletedSession:
    totals: dict[str, int] = {}
    for name, value in fields.items():
        if name.startswith("c:"):
            totals.setdefault(name[2:], 0)
        elif name.startswith("d:"):
            totals[name[2:]] = int(value)
    return CompletedSession(
        account=account, key=key, session_id=_text(fields.get("asid")), nas=_text(fields.get("nas")),
        realm=_text(fields.get("realm")), user=_text(fields.get("user")),
        start=int(fields.get("start", b"0")), stop=int(fields.get("stop", b"0")),
        cause=_text(fields.get("cause")), totals=dict(sorted(totals.items())),
        resets=int(fields.get("resets", b"0")), charges=decode_charges(charges))


def encode_completed(session: CompletedSession) -> bytes:
    record = {
        "v": SCHEMA_VERSION, "account": session.account, "session": session.key,
        "session_id": session.session_id, "nas": session.nas, "realm": session.realm,
        "user": session.user, "start": session.start, "stop": session.stop, "cause": session.cause,
        "counters": dict(session.totals), "resets": session.resets,
        "charges": [dict(c) for c in session.charges],
    }
    packed: bytes = msgpack.packb(record, use_bin_type=True)
    return packed


def decode_completed(data: bytes) -> CompletedSession:
    r = msgpack.unpackb(data, raw=False)
    if r.get("v") != SCHEMA_VERSION:
        raise ValueError(f"unknown completed-session schema {r.get('v')!r}")
    return CompletedSession(
        account=r["account"], key=r["session"], session_id=r["session_id"], nas=r["nas"],
        realm=r["realm"], user=r["user"], start=r["start"], stop=r["stop"], cause=r["cause"],
        totals=r["counters"], resets=r["resets"], charges=tuple(r["charges"]))


def stream_fields(session: CompletedSession) -> dict[str, bytes | str | int]:
    return {"v": SCHEMA_VERSION, "acct": session.account, "sid": session.key,
            "d": encode_completed(session)}
