"""Request and response bodies of /v1/; the OpenAPI document is generated from these."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$", examples=["isp2"])]
Amount = Annotated[str, Field(pattern=r"^[0-9]{1,12}(\.[0-9]{1,8})?$", examples=["12.50"],
                              description="A positive decimal, as a string (never a float).")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]
Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
Text64 = Annotated[str, Field(max_length=64)]
Username = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[^\s\x00-\x1f\x7f\"\\]+$")]
Password = Annotated[str, Field(min_length=1, max_length=128)]
Plan = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^\S")]
Cursor = Annotated[str, Field(max_length=64)]
AttrName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{0,63}$")]
Reply = dict[AttrName, Annotated[str, Field(max_length=253)]]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors ---------------------------------------------------------------------------------

class FieldProblem(Out):
    path: str = Field(description="Where the problem is, e.g. body.cycle_day or query.limit.")
    message: str


class ErrorBody(Out):
    code: Literal["bad_request", "unauthorized", "forbidden", "not_found", "conflict", "invalid",
                  "unavailable"]
    message: str
    fields: list[FieldProblem] = []


class Error(Out):
    error: ErrorBody


# --- realms ---------------------------------------------------------------------------------

class RealmFields(In):
    domains: list[Annotated[str, Field(max_length=253)]] | None = None
    currency: Currency | None = None
    tax_name: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    tax_rate: Annotated[str, Field(pattern=r"^(0(\.[0-9]{1,8})?|1(\.0{1,8})?)$",
                                   description="A fraction: 0.21 is 21 %.")] | None = None
    invoice_format: Annotated[str, Field(max_length=128,
                                         examples=["INV-{realm}-{yyyy}-{seq:06}"])] | None = None
    email_delivery: bool | None = None
    auth_mode: Literal["local", "proxy", "ldap"] | None = None
    auth_settings: dict[str, Any] | None = None
    allow_chap: bool | None = Field(default=None, description="Keep cleartext passwords so CHAP works.")
    allow_mschap: bool | None = Field(default=None, description="Keep NT hashes so MS-CHAPv2 works.")
    logo_path: Annotated[str, Field(max_length=512)] | None = None
    colour_primary: Colour | None = None
    colour_accent: Colour | None = None
    watermark: Annotated[str, Field(max_length=128)] | None = None
    footer: Annotated[str, Field(max_length=2000)] | None = None
    owner_account_id: Annotated[int, Field(ge=1, le=2**62)] | None = None


class RealmCreate(RealmFields):
    name: Name


class RealmUpdate(RealmFields):
    pass


class RealmOut(Out):
    name: str
    domains: list[str]
    currency: str
    tax_name: str
    tax_rate: str
    invoice_format: str
    email_delivery: bool
    auth_mode: Literal["local", "proxy", "ldap"]
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


class RealmPage(Out):
    items: list[RealmOut]
    next_cursor: str | None


# --- accounts -------------------------------------------------------------------------------

class AccountFields(In):
    contact_name: Annotated[str, Field(max_length=200)] | None = None
    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    cycle_day: Annotated[int, Field(ge=1, le=28)] | None = None
    simultaneous_use: Annotated[int, Field(ge=1, le=10000)] | None = None
    static_ip: Annotated[str, Field(max_length=45)] | None = None
    pool: Text64 | None = None
    reply: Reply | None = None
    invoice_email: bool | None = Field(default=None, description="Invoices by e-mail: true or false; "
                                                                 "null follows the realm's email_delivery.")


class AccountCreate(AccountFields):
    username: Username
    realm: Name | None = Field(default=None, description="Defaults to the token's realm, else 'default'.")
    password: Password | None = None
    plan: Plan | None = None
    plan_start: date | None = None
    status: Literal["active", "suspended"] = "active"


class AccountUpdate(AccountFields):
    pass


class CredentialKinds(Out):
    pap: bool
    mschap: bool
    chap: bool


class AccountOut(Out):
    id: int
    realm: str
    username: str
    status: Literal["active", "suspended", "closed"]
    contact_name: str | None
    email: str | None
    cycle_day: int
    simultaneous_use: int | None
    static_ip: str | None
    pool: str | None
    reply: dict[str, str]
    credentials: CredentialKinds
    created_at: datetime
    updated_at: datetime
    invoice_email: bool | None


class AccountPage(Out):
    items: list[AccountOut]
    next_cursor: str | None


class PasswordChange(In):
    password: Password


class Suspend(In):
    reason: Annotated[str, Field(max_length=200)] | None = None


# --- subscriptions, ledger, balances --------------------------------------------------------

class PlanChange(In):
    plan: Plan
    effective: date | None = Field(default=None, description="Default today.")


class SubscriptionOut(Out):
    id: int
    account_id: int
    plan: str
    start_date: date
    end_date: date | None = Field(description="Exclusive: the day the next subscription starts.")


class SubscriptionList(Out):
    items: list[SubscriptionOut]


class LedgerCreate(In):
    amount: Amount
    currency: Currency | None = None
    description: Annotated[str, Field(max_length=500)] | None = None
    reference: Annotated[str, Field(max_length=128)] | None = None
    entry_date: date | None = None


class LedgerOut(Out):
    id: int
    account_id: int
    realm: str
    kind: Literal["charge", "payment", "topup"]
    amount: str
    currency: str
    description: str
    reference: str | None
    entry_date: date
    created_at: datetime
    actor: str


class LedgerPage(Out):
    items: list[LedgerOut]
    next_cursor: str | None


class Balances(Out):
    model_config = ConfigDict(extra="allow")
    currency: str
    charges: str
    payments: str
    topups: str
    balance: str = Field(description="payments + top-ups − charges; positive means in credit.")
    source: str


class Usage(Out):
    model_config = ConfigDict(extra="allow")
    period_start: date
    period_end: date
    octets_in: int
    octets_out: int
    seconds: int
    sessions: int
    source: str


class Overview(AccountOut):
    plan: str | None
    subscriptions: list[SubscriptionOut]
    balances: Balances
    usage: Usage


# --- tokens and audit -----------------------------------------------------------------------

class TokenCreate(In):
    name: Annotated[str, Field(min_length=1, max_length=128)]
    realm: Name | None = Field(default=None, description="None: operator-wide (operator tokens only).")


class TokenOut(Out):
    id: int
    name: str
    realm: str | None
    created_at: datetime
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The bearer token. Shown once; only its hash is stored.")


class TokenList(Out):
    items: list[TokenOut]


class AuditOut(Out):
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    realm: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(Out):
    items: list[AuditOut]
    next_cursor: str | None


# --- query strings --------------------------------------------------------------------------

class PageQuery(In):
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    cursor: Cursor | None = None


class AccountQuery(PageQuery):
    realm: Name | None = None
    status: Literal["active", "suspended", "closed"] | None = None
    username: Username | None = None


class LedgerQuery(PageQuery):
    pass


class AuditQuery(PageQuery):
    object_type: Annotated[str, Field(max_length=32)] | None = None
    object_id: Annotated[str, Field(max_length=300)] | None = None
