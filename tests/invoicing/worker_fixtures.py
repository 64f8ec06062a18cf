"""Shared helpers for the worker tests: a migrated database with the provisioning
service, the example pricebook, rated sessions built like jetd builds them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from quota.model import CompletedSession
from rating import Charge, load_catalog
from rating.explain import charge_to_dict

PRICEBOOK = Path(__file__).parents[2] / "config" / "pricebook.example.toml"
CATALOG = load_catalog([PRICEBOOK])
GB = Decimal(1_000_000_000)


def data_charge(gb: str, rate: str, at: datetime, band: str | None = None) -> Charge:
    units = Decimal(gb)
    return Charge(meter="data", kind="usage", quantity=units * GB, billed=units * GB, units=units, unit="GB",
                  rate=Decimal(rate), amount=units * Decimal(rate), currency="NZD", start=at, end=at,
                  band=band)  # fmt: skip


def session(account: int, key: str, charges: list[Charge], realm: str = "default",
            user: str = "u") -> CompletedSession:  # fmt: skip
    start = int(min(c.start for c in charges).timestamp()) if charges else 1780000000
    return CompletedSession(
        account=str(account), key=key, session_id=key, nas="127.0.0.1", realm=realm, user=user, start=start,
        stop=start + 60, cause="User-Request", totals={"data": 1}, resets=0,
        charges=tuple({"amount": str(c.due), "pool": "money", "period": "2026-06", "at": start,
                       "detail": charge_to_dict(c)} for c in charges))  # fmt: skip


def s2_sessions(account: int) -> list[CompletedSession]:
    """65 GB in June over three sessions: 10 GB at 2.00, 40 GB at 1.50, 15 GB at 1.00 = 95.00."""
    june = datetime(2026, 6, 10, 1, tzinfo=UTC)
    return [
        session(account, "s2-a", [data_charge("10", "2.00", june, "1"),
                                  data_charge("10", "1.50", june, "2")]),
        session(account, "s2-b", [data_charge("25", "1.50", june.replace(day=12), "2")]),
        session(account, "s2-c", [data_charge("5", "1.50", june.replace(day=20), "2"),
                                  data_charge("15", "1.00", june.replace(day=20), "3")]),
    ]


def day(s: str) -> date:
    return date.fromisoformat(s)
