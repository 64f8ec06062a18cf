"""The ``[hooks]`` table of jet.toml: delivery tuning, built-in behaviours, and the hooks.

    [hooks]
    poll_interval = 1.0

    [hooks.builtin]                 # all on by default
    welcome = true
    [hooks.builtin.mails.welcome]   # Jet's own texts replaced (subject, body or body_file)
    subject = "Welcome to Example Net, $name"
    [hooks.builtin.realms.wholesale]
    welcome = false                 # per realm
    [hooks.builtin.realms.visp1.mails.usage_warning]
    body_file = "/etc/jet/mail/visp1-warning.txt"

    [[hooks.hook]]
    name = "provision-mail"
    events = ["account.created", "account.deleted"]
    realms = ["default"]
    action = "exec"
    argv = ["/usr/local/bin/mailbox", "sync"]

Every hook is one flat table; which keys it takes depends on ``action`` and a key that
does not belong to the action is an error. Secrets (``secret``, ``password``, ``url``
of sql, ``key``) also accept ``NAME_file`` / ``NAME_env``.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from jetd.hooks.mails import MAILS
from jetd.schema import Model, text_from_file

Action = Literal["exec", "http", "email", "ssh", "sftp", "ftp", "ldap", "sql", "radius-file"]

COMMON = {"name", "action", "events", "realms", "plans", "timeout", "max_attempts", "enabled"}
FIELDS: dict[str, tuple[set[str], set[str]]] = {  # action: (required, optional)
    "exec": ({"argv"}, {"env", "cwd"}),
    "http": ({"url"}, {"secret", "headers", "verify_tls"}),
    "email": ({"subject", "body"}, {"to"}),
    "ssh": ({"host", "username", "command"}, {"port", "key", "known_hosts", "password"}),
    "sftp": ({"host", "username", "path", "content"}, {"port", "key", "known_hosts", "password"}),
    "ftp": ({"host", "username", "path", "content"}, {"port", "password"}),
    "ldap": ({"url", "operation", "dn"}, {"bind_dn", "password", "attributes"}),
    "sql": ({"url", "statement"}, {"params", "param_types"}),
    "radius-file": ({"path"}, {"realm"}),
}
TEMPLATED = ("argv", "subject", "body", "to", "command", "path", "content", "dn", "attributes", "params")
NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def _check_template(where: str, text: str) -> None:
    if not Template(text).is_valid():
        raise ValueError(f"{where}: invalid placeholder syntax (use $name or ${{name}}; $$ for a dollar)")


class HookSettings(Model):
    secret_fields = ("secret", "password", "key")
    keep_newline = frozenset({"key"})  # an SSH private key file ends with a newline

    name: str
    action: Action
    enabled: bool = True
    # Event types to act on; "account.*" matches every account event, "*" everything.
    events: list[str] = Field(min_length=1)
    realms: list[str] = Field(default_factory=list)  # empty: every realm
    plans: list[str] = Field(default_factory=list)  # empty: any plan (or none)
    timeout: float = Field(default=30.0, gt=0, le=3600)
    max_attempts: int | None = Field(default=None, ge=1, le=1000)

    # exec
    argv: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: Path | None = None
    # http
    url: str = ""
    secret: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    verify_tls: bool = True
    # email
    to: str = "$account_email"
    subject: str = ""
    body: str = ""
    # ssh, sftp, ftp
    host: str = ""
    port: int | None = Field(default=None, ge=1, le=65535)
    username: str = ""
    password: str | None = None
    key: str | None = None  # a private key (key_file = "/etc/jet/hook_ed25519")
    known_hosts: Path | None = None
    command: str = ""
    path: str = ""
    content: str = ""
    # ldap
    operation: Literal["add", "modify", "delete"] = "add"
    dn: str = ""
    bind_dn: str | None = None
    attributes: dict[str, str | list[str]] = Field(default_factory=dict)
    # sql
    statement: str = ""
    params: dict[str, str] = Field(default_factory=dict)
    # Values are bound as text unless named here ("" becomes NULL for the typed ones).
    param_types: dict[str, Literal["text", "int", "decimal", "bool"]] = Field(default_factory=dict)
    # radius-file
    realm: str | None = None

    @model_validator(mode="after")
    def _fits_action(self) -> HookSettings:
        if not NAME.match(self.name):
            raise ValueError("name: letters, digits and _ . : - only (at most 100)")
        required, optional = FIELDS[self.action]
        given = set(self.model_fields_set)
        stray = sorted(given - COMMON - required - optional)
        if stray:
            raise ValueError(f"{', '.join(stray)}: not a setting of a {self.action} hook")
        missing = sorted(f for f in required if not getattr(self, f))
        if missing:
            raise ValueError(f"a {self.action} hook needs {', '.join(missing)}")
        if self.action == "http" and not self.url.startswith(("http://", "https://")):
            raise ValueError("url: must start with http:// or https://")
        if self.action == "ldap" and not self.url.startswith(("ldap://", "ldaps://")):
            raise ValueError("url: must start with ldap:// or ldaps://")
        if self.action == "sql" and not self.url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("url: must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        if self.action == "ssh" or self.action == "sftp":
            if self.key is None and self.password is None:
                raise ValueError(f"a {self.action} hook needs key (key_file/key_env) or password")
            if self.known_hosts is None:
                raise ValueError(f"a {self.action} hook needs known_hosts: host keys are always checked")
        for field in TEMPLATED:
            value = getattr(self, field)
            items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(
                value, list) else [(None, value)]
            for k, v in items:
                for text in v if isinstance(v, list) else [v]:
                    _check_template(field if k is None else f"{field}.{k}", str(text))
        return self

    def takes(self, event_type: str) -> bool:
        """Whether events of this type can match (realm and plan aside)."""
        return self.enabled and any(
            p == "*" or p == event_type or (p.endswith(".*") and event_type.startswith(p[:-1]))
            for p in self.events)

    def matches(self, event_type: str, realm: str | None, plan: str | None) -> bool:
        if not self.takes(event_type):
            return False
        if self.realms and realm not in self.realms:
            return False
        return not self.plans or plan in self.plans


MAIL_BEHAVIOURS = tuple(MAILS)


class MailText(Model):
    """A built-in e-mail's own text (``string.Template``; the fields of docs/hooks.md plus
    ``$name``, the contact name or else the username). Either key may be left out."""

    subject: str | None = None
    body: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_body_file(cls, data: Any) -> Any:  # body_file: the text of this file (at load and reload)
        return text_from_file(data, "body")

    @model_validator(mode="after")
    def _valid(self) -> MailText:
        for name in ("subject", "body"):
            if getattr(self, name) is not None:
                _check_template(name, str(getattr(self, name)))
        return self


def _check_mails(mails: dict[str, MailText]) -> dict[str, MailText]:
    stray = sorted(set(mails) - set(MAIL_BEHAVIOURS))
    if stray:
        raise ValueError(f"mails: {', '.join(stray)}: not a built-in e-mail ({', '.join(MAIL_BEHAVIOURS)})")
    return mails


Mails = Annotated[dict[str, MailText], AfterValidator(_check_mails)]


class BuiltinToggles(Model):
    welcome: bool | None = None
    usage_warning: bool | None = None
    low_balance_warning: bool | None = None
    balance_exhausted_notice: bool | None = None
    suspend_overdue: bool | None = None
    resume_on_payment: bool | None = None
    suspension_notice: bool | None = None
    plan_change_notice: bool | None = None
    abort_on_suspend: bool | None = None
    reauthorize_on_plan_change: bool | None = None
    credit_topup: bool | None = None
    mails: Mails = Field(default_factory=dict)  # this realm's texts


class BuiltinSettings(Model):
    """The behaviours Jet has without any ``[[hooks.hook]]``; each can be turned off per realm."""

    welcome: bool = True
    usage_warning: bool = True
    low_balance_warning: bool = True
    balance_exhausted_notice: bool = True
    suspend_overdue: bool = True
    resume_on_payment: bool = True
    suspension_notice: bool = True
    plan_change_notice: bool = True
    abort_on_suspend: bool = True
    reauthorize_on_plan_change: bool = True
    credit_topup: bool = True  # off only where top-ups reach Redis some other way
    mails: Mails = Field(default_factory=dict)  # texts instead of Jet's own
    realms: dict[str, BuiltinToggles] = Field(default_factory=dict)

    def enabled(self, behaviour: str, realm: str | None) -> bool:
        override = self.realms.get(realm or "")
        value = getattr(override, behaviour, None) if override is not None else None
        return bool(getattr(self, behaviour)) if value is None else bool(value)

    def mail_text(self, behaviour: str, realm: str | None, default: tuple[str, str]) -> tuple[str, str]:
        """Subject and body: the realm's own, else the configured, else Jet's; key by key."""
        subject, body = default
        override = self.realms.get(realm or "")
        for mails in (self.mails, override.mails if override is not None else {}):
            text = mails.get(behaviour)
            if text is not None:
                subject = text.subject if text.subject is not None else subject
                body = text.body if text.body is not None else body
        return subject, body


class HooksSettings(Model):
    enabled: bool = True
    # How often the outbox is read for new events, and due retries looked for (seconds).
    poll_interval: float = Field(default=1.0, gt=0, le=60)
    # Attempts before a delivery is parked as failed (jetctl hooks failed / retry).
    max_attempts: int = Field(default=10, ge=1, le=1000)
    # Retry after backoff_initial * 2**(attempt-1), at most backoff_max (seconds), ±20% jitter.
    backoff_initial: float = Field(default=2.0, gt=0, le=3600)
    backoff_max: float = Field(default=600.0, gt=0, le=86400)
    # Deliveries of one hook running at once (different accounts; one account is in order).
    concurrency: int = Field(default=8, ge=1, le=256)
    # Done deliveries are kept this long (jetctl hooks deliveries), then deleted. Failed stay.
    keep_done_days: float = Field(default=30, ge=0, le=3650)
    builtin: BuiltinSettings = BuiltinSettings()
    hook: list[HookSettings] = Field(default_factory=list)

    def wanted(self, event_type: str) -> bool:
        """Whether any configured hook takes events of this type (the built-ins never take
        session events: RADIUS accounting writes those only when a hook wants them)."""
        return self.enabled and any(h.takes(event_type) for h in self.hook)

    @model_validator(mode="after")
    def _unique_names(self) -> HooksSettings:
        seen: set[str] = set()
        for h in self.hook:
            if h.name in seen:
                raise ValueError(f"hook name {h.name!r} is used twice")
            if h.name.startswith("builtin."):
                raise ValueError(f"hook name {h.name!r}: the builtin. prefix is Jet's own")
            seen.add(h.name)
        return self
