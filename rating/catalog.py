"""The Catalog: every realm's plans, loaded and validated, looked up by realm and name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rating.model import Plan, Tax

DEFAULT_REALM = "default"


@dataclass(frozen=True)
class Realm:
    """One realm's namespace: its plans and its tax."""

    name: str
    plans: dict[str, Plan]
    tax: Tax | None = None


@dataclass(frozen=True)
class Catalog:
    """All pricebooks. Lookups go to the realm's own namespace, then the default realm's."""

    realms: Mapping[str, Realm]
    files: tuple[str, ...] = ()
    prefixes: int = 0

    def find_plan(self, realm: str, name: str) -> Plan | None:
        for r in (realm, DEFAULT_REALM):
            book = self.realms.get(r)
            if book is not None and name in book.plans:
                return book.plans[name]
        return None

    def plans(self, realm: str = DEFAULT_REALM) -> list[Plan]:
        """The plans visible in ``realm``: its own, then the default realm's not shadowed."""
        seen: dict[str, Plan] = {}
        for r in (realm, DEFAULT_REALM):
            book = self.realms.get(r)
            for name, plan in book.plans.items() if book else ():
                seen.setdefault(name, plan)
        return list(seen.values())

    def tax(self, realm: str) -> Tax | None:
        """The realm's tax (prices are tax-exclusive; the invoicer applies it)."""
        for r in (realm, DEFAULT_REALM):
            book = self.realms.get(r)
            if book is not None and book.tax is not None:
                return book.tax
        return None

    def summary(self) -> str:
        count = sum(len(r.plans) for r in self.realms.values())
        realms = len(self.realms)
        return (
            f"{count} plan{'s' * (count != 1)} in {realms} realm{'s' * (realms != 1)}, "
            f"{self.prefixes} prefixes"
        )
