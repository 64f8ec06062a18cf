"""The provisioning domain's records: frozen, built by the store, returned by the service."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from provisioning.credentials import Credentials

STATUSES = ("active", "suspended", "closed")
AUTH_MODES = ("local", "proxy", "ldap")
LEDGER_KINDS = ("charge", "payment", "topup")
EVENT_TYPES = (
    "account.created", "account.updated", "account.suspended", "account.resumed", "account.deleted",
    "account.password_changed", "account.plan_changed", "payment.received", "topup.received",
    # Not in the hooks list yet, but the account cache follows them:
    "realm.created", "realm.updated",
)
EVENT_VERSION = 1
DEFAULT_REALM = "default"

Status = Literal["active", "suspended", "closed"]
T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """Who is acting: an API token, jetctl (root on the control socket), a hook.

    ``realm`` None means operator-wide; otherwise the actor sees only that realm,
    and everything elsewhere looks absent (NotFound).
    """

    name: str
    realm: str | None = None
    token_id: int | None = None

    def sees(self, realm: str | None) -> bool:
        return self.realm is None or self.realm == realm


OPERATOR = Actor("operator")


@dataclass(frozen=True)
class Realm:
    name: str
    domains: tuple[str, ...]
    currency: str
    tax_name: str
    tax_rate: Decimal
    invoice_format: str
    email_delivery: bool
    auth_mode: str
    auth_settings: dict[str, Any]
    allow_chap: bool
    allow_mschap: bool
    logo_path: str | None
    colour_primary: str | None
    colour_accent: str | None
    watermark: str | None
    footer: str | None
    owner_account_id: int | None
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return jsonable_dict(shallow(self))


@dataclass(frozen=True)
class Account:
    id: int
    realm: str
    username: str
    status: Status
    contact_name: str | None
    email: str | None
    cycle_day: int
    simultaneous_use: int | None
    static_ip: str | None
    pool: str | None
    reply: dict[str, str]
    created_at: datetime
    updated_at: datetime
    credentials: Credentials = field(repr=False, compare=False)
    invoice_email: bool | None = None  # None: as the realm's email_delivery says

    def to_dict(self) -> dict[str, Any]:
        """The public form: never any credential, only which kinds are stored."""
        out = {k: v for k, v in shallow(self).items() if k != "credentials"}
        out["credentials"] = {
            "pap": self.credentials.password_hash is not None,
            "mschap": self.credentials.nt_hash is not None,
            "chap": self.credentials.cleartext is not None,
        }
        return jsonable_dict(out)


@dataclass(frozen=True)
class Subscription:
    id: int
    account_id: int
    plan: str
    start_date: date
    end_date: date | None  # exclusive; None = open-ended

    def covers(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day < self.end_date)

    def to_dict(self) -> dict[str, Any]:
        return jsonable_dict(shallow(self))


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    account_id: int
    realm: str
    kind: str
    amount: Decimal
    currency: str
    description: str
    reference: str | None
    entry_date: date
    created_at: datetime
    actor: str

    def to_dict(self) -> dict[str, Any]:
        return jsonable_dict(shallow(self))


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    realm: str | None
    created_at: datetime
    revoked_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return jsonable_dict(shallow(self))


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    realm: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return jsonable_dict(shallow(self))


@dataclass(frozen=True)
class Event:
    """One outbox row: what the hooks issue delivers and the account cache follows."""

    id: int
    type: str
    account_id: int | None
    realm: str | None
    payload: dict[str, Any]
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return jsonable_dict(shallow(self))


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class NewAccount:
    """What creating an account takes. ``password`` or ``nt_hash`` (an import) or neither."""

    username: str
    realm: str = DEFAULT_REALM
    password: str | None = None
    nt_hash: str | None = None
    plan: str | None = None
    plan_start: date | None = None
    status: str = "active"
    contact_name: str | None = None
    email: str | None = None
    cycle_day: int = 1
    simultaneous_use: int | None = None
    static_ip: str | None = None
    pool: str | None = None
    reply: dict[str, str] = field(default_factory=dict)
    invoice_email: bool | None = None


def shallow(obj: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, without dataclasses.asdict's deep copy (jsonable copies)."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def jsonable_dict(value: dict[str, Any]) -> dict[str, Any]:
    return {k: jsonable(v) for k, v in value.items()}


def jsonable(value: Any) -> Any:
    """Dates, datetimes and Decimals as strings; tuples as lists."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
