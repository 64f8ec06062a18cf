"""The frozen records the RADIUS hot path reads from the account cache."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any, NamedTuple

from provisioning.models import Realm


class AuthAccount(NamedTuple):
    """What RADIUS authentication needs to know about one account.

    A NamedTuple: immutable, built in one C call (the cache builds 100,000s at start),
    smaller than an object with slots; read it by attribute.
    """

    id: int
    realm: str
    username: str
    status: str  # active | suspended | closed
    password_hash: str | None  # scrypt$N$r$p$salt$hash, for PAP
    nt_hash: bytes | None  # 16 bytes, for MS-CHAPv2 (and PAP when there is no scrypt hash)
    cleartext: str | None  # only where the realm allows CHAP
    simultaneous_use: int | None
    static_ip: str | None
    pool: str | None
    reply: tuple[tuple[str, str], ...]  # per-account reply items (attribute, value)
    plans: tuple[tuple[date, date | None, str], ...]  # (start, end exclusive or None, plan), by start

    def __repr__(self) -> str:  # never print credentials into a log
        return f"AuthAccount(id={self.id}, {self.username}@{self.realm}, {self.status})"

    def plan_on(self, day: date) -> str | None:
        """The plan in force on ``day`` (plan changes are scheduled by date)."""
        for start, end, plan in self.plans:
            if start <= day and (end is None or day < end):
                return plan
        return None


@dataclass(frozen=True, slots=True)
class AuthRealm:
    name: str
    domains: tuple[str, ...]
    auth_mode: str  # local | proxy | ldap
    auth_settings: Mapping[str, Any]
    allow_chap: bool
    allow_mschap: bool


def auth_account(row: tuple[Any, ...], plans: Iterable[tuple[date, date | None, str]]) -> AuthAccount:
    """From a store.auth_rows row: (id, realm, username, status, password_hash, nt_hash,
    cleartext, simultaneous_use, static_ip, pool, reply as JSON text)."""
    intern = sys.intern
    (account_id, realm, username, status, password_hash, nt_hex, cleartext, simultaneous_use, static_ip,
     pool, reply) = row
    return AuthAccount._make((
        account_id, intern(realm), username, intern(status), password_hash,
        bytes.fromhex(nt_hex) if nt_hex else None, cleartext, simultaneous_use, static_ip,
        intern(pool) if pool else None,
        tuple(json.loads(reply).items()) if reply and reply != "{}" else (),
        tuple(plans),
    ))


def auth_realm(realm: Realm) -> AuthRealm:
    return AuthRealm(realm.name, realm.domains, realm.auth_mode, MappingProxyType(dict(realm.auth_settings)),
                     realm.allow_chap, realm.allow_mschap)


