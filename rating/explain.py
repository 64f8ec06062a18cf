"""Turn a Rating into the trace an operator reads ("why was I charged this?") or JSON."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rating.model import Charge, Rating


def _q(d: Decimal) -> str:
    """A quantity or amount for people: no exponent, at most 12 places."""
    if d != d.to_integral_value():
        d = d.quantize(Decimal("1e-12"))
    return f"{d.normalize():f}"


BASE_UNITS = {
    "data": "octets",
    "time": "s",
    "voice": "s",
    "sms": "events",
    "energy_import": "kWh",
    "energy_export": "kWh",
}


def _money(d: Decimal) -> str:
    """An amount as computed (trailing zeros kept), at most 12 places."""
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -12:
        d = d.quantize(Decimal("1e-12")).normalize()
    return f"{d:f}"


def describe(c: Charge) -> str:
    """One charge as a line: what, how much, at which rate, and every reason."""
    head = f"{c.meter:<13} {c.kind:<10} {_q(c.units)} {c.unit} × {c.rate} = {_money(c.amount)} {c.currency}"
    end = f"{c.end:%H:%M:%S}" if c.end.date() == c.start.date() else f"{c.end:%Y-%m-%d %H:%M:%S}"
    bits = [f"{c.start:%Y-%m-%d %H:%M:%S}–{end} UTC"]
    if c.kind != "connection":
        base = BASE_UNITS.get(c.meter, "")
        bits.append(f"quantity {_q(c.quantity)} {base} → billed {_q(c.billed)} {base}")
    for label, value in (
        ("class", c.klass),
        ("window", c.window),
        ("zone", c.zone),
        ("prefix", c.prefix),
        ("band", c.band),
        ("bundle", c.bundle),
        ("cost", c.cost),
    ):
        if value:
            bits.append(f"{label} {value}")
    if c.bundled:
        bits.append(f"paid by bundle {_q(c.bundled)}, due {_q(c.due)}")
    if c.terms_from:
        bits.append(f"prices from {c.terms_from:%Y-%m-%d %H:%M} UTC")
    if c.rule:
        bits.append(f"rule {c.rule}")
    return head + "\n    " + "; ".join(bits)


def explain(rating: Rating) -> str:
    """The full trace of a Rating."""
    lines = [f"plan {rating.plan!r}: total due {_money(rating.total)} {rating.currency}"]
    lines += [describe(c) for c in rating.charges]
    if rating.counters:
        lines.append("counters: " + ", ".join(f"{k} +{_q(v)}" for k, v in sorted(rating.counters.items())))
    for x in rating.crossings:
        lines.append(f"threshold: bundle {x.bundle} crossed {_q(x.percent)}% → {x.action}")
    for e in rating.exhausted:
        lines.append(
            f"exhausted: bundle {e.bundle}{' (now)' if e.now else ''} → {e.action}"
            + (f" {dict(e.reply)}" if e.reply else "")
        )
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def charge_to_dict(c: Charge) -> dict[str, Any]:
    out = {name: _plain(value) for name, value in c._asdict().items()}
    out["due"] = str(c.due)
    return out


def rating_to_dict(rating: Rating) -> dict[str, Any]:
    """A JSON-ready form (Decimals as strings, times in ISO 8601)."""
    return {
        "plan": rating.plan,
        "currency": rating.currency,
        "total": str(rating.total),
        "charges": [charge_to_dict(c) for c in rating.charges],
        "counters": {k: str(v) for k, v in rating.counters.items()},
        "crossings": [
            {"bundle": x.bundle, "percent": str(x.percent), "action": x.action, "reply": dict(x.reply)}
            for x in rating.crossings
        ],
        "exhausted": [
            {"bundle": e.bundle, "action": e.action, "reply": dict(e.reply), "now": e.now}
            for e in rating.exhausted
        ],
        "reply": dict(rating.reply),
    }
