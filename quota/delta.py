"""Session deltas from cumulative accounting counters (pure; mirrors jet_acct_apply).

RFC 2866 counters are cumulative for the session; Jet charges the difference from the
last value applied. A counter that goes backwards charges nothing: it is a NAS reset
(the new value becomes the base) if the record is newer than the last applied one, else
a late retransmission (ignored).
"""

from __future__ import annotations

from collections.abc import Mapping

from quota.errors import InvalidValue

MAX_COUNTER = 2**53  # Lua numbers are doubles: integers are exact below this


def octets64(octets: int, gigawords: int = 0) -> int:
    """Acct-(Input|Output)-Octets with their Gigawords (RFC 2869 §5.1): Gigawords << 32 | Octets."""
    if not 0 <= octets < 2**32 or gigawords < 0:
        raise InvalidValue(f"octets {octets} / gigawords {gigawords} out of range")
    return (gigawords << 32) | octets


def check_counters(counters: Mapping[str, int]) -> None:
    for name, value in counters.items():
        if not name or ":" in name or isinstance(value, bool) or not isinstance(value, int):
            raise InvalidValue(f"counter {name!r}={value!r}: names without ':', integer values")
        if not 0 <= value < MAX_COUNTER:
            raise InvalidValue(f"counter {name}={value} outside 0..2^53")


def session_delta(last: Mapping[str, int], current: Mapping[str, int], now: int = 0, last_update: int = 0
                  ) -> tuple[dict[str, int], list[str]]:
    """Delta per counter of ``current`` against ``last``, and the counters reset by the NAS.

    A counter below its last value is a NAS reset (new base, zero delta) when the record is
    newer than the last one applied (``now > last_update``); otherwise it is a late
    retransmission and charges nothing either.
    """
    delta: dict[str, int] = {}
    resets: list[str] = []
    for name, value in current.items():
        before = last.get(name, 0)
        if value >= before:
            delta[name] = value - before
        else:
            delta[name] = 0
            if now > last_update:
                resets.append(name)
    return delta, sorted(resets)
