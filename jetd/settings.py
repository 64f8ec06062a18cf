"""The one settings schema: jet.toml, validated by pydantic.

Every key of DESIGN.md's config contract exists here. Unknown keys are errors.
Every secret may be given inline (``secret = "…"``), from a file
(``secret_file = "/etc/jet/bras1.secret"``) or from the environment
(``secret_env = "JET_BRAS1_SECRET"``). Relative paths are taken relative to the
config file's folder.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from jetd.defaults import DEFAULT_CONFIG, DEFAULT_SOCKET
from jetd.errors import ConfigError, Problem
from jetd.schema import Model, text_from_file

__all__ = ["DEFAULT_CONFIG", "Settings", "load_settings", "parse_settings"]
from jetd.hooks.settings import HooksSettings


def _parse_listen(value: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """'host:port', '[v6]:port' or ':port' -> (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    host = host.strip("[]") or default_host
    number = int(port)
    if not 0 <= number <= 65535:
        raise ValueError(f"port {number} out of range")
    return host, number


class ListenAddress(Model):
    host: str
    port: int


def _listen_validator(value: Any) -> Any:
    if isinstance(value, str):
        host, port = _parse_listen(value)
        return {"host": host, "port": port}
    return value


Listen = Annotated[ListenAddress, BeforeValidator(_listen_validator)]


class RadiusClient(Model):
    secret_fields = ("secret",)

    name: str = Field(min_length=1)
    address: ipaddress.IPv4Network | ipaddress.IPv6Network
    secret: str = Field(min_length=1)
    coa_port: int = Field(default=3799, ge=1, le=65535)
    require_message_authenticator: bool = False
    vendor: str = "generic"

    @field_validator("address", mode="before")
    @classmethod
    def _network(cls, value: Any) -> Any:
        try:
            return ipaddress.ip_network(str(value), strict=False)
        except ValueError as exc:
            raise ValueError(f"not an address or CIDR: {exc}") from None


class RadiusSettings(Model):
    enabled: bool = True
    listen: str = "0.0.0.0"
    auth_port: int = Field(default=1812, ge=0, le=65535)
    acct_port: int = Field(default=1813, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    dictionaries: list[Path] = []
    clients: list[RadiusClient] = []
    # User-Name forms that carry a realm: "suffix" = user@realm, "ntdomain" = REALM\user.
    realm_formats: list[Literal["suffix", "ntdomain"]] = ["suffix", "ntdomain"]
    # A realm nobody answers for: reject, or authenticate the full name in the default realm.
    unknown_realm: Literal["reject", "default"] = "reject"
    # Acct-Interim-Interval sent in every Access-Accept (seconds; 0: don't send).
    interim_interval: int = Field(default=300, ge=0, le=86400)
    # Sessions that miss this many interim intervals are closed by the reaper with their last
    # counters (judged by the NAS's Event-Timestamp: keep NAS clocks on NTP). 0: no reaper.
    reap_after_intervals: int = Field(default=3, ge=0, le=100)
    # Requests being processed at once per listener; past it, new ones are dropped and counted.
    max_in_flight: int = Field(default=4096, ge=16, le=1_000_000)
    # Retransmissions within this window get the cached reply (RFC 5080 §2.2.2).
    duplicate_window: float = Field(default=5.0, gt=0, le=60)
    # Authentication while Redis is unreachable: accept with the plan's normal reply, or reject.
    redis_down: Literal["accept", "reject"] = "accept"
    # Energy meters (utilities): which accounting counter carries Wh taken from the grid and
    # which Wh sent to it ("in" = Acct-Input-Octets/Gigawords, "out" = Acct-Output-…).
    energy_import_counter: Literal["in", "out"] = "in"
    energy_export_counter: Literal["in", "out"] = "out"

    @model_validator(mode="after")
    def _unique_client_names(self) -> RadiusSettings:
        seen: set[str] = set()
        for client in self.clients:
            if client.name in seen:
                raise ValueError(f"client name {client.name!r} is used twice")
            seen.add(client.name)
        return self


class RedisSettings(Model):
    secret_fields = ("url",)

    url: str = "redis://127.0.0.1:6379/0"

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://", "redis+cluster://")):
            raise ValueError("must start with redis://, rediss://, unix:// or redis+cluster://")
        return value


class QuotaSettings(Model):
    # Where accounting records wait, fsync'd, while Redis is unreachable (one file per process).
    spool_dir: Path = Path("/var/lib/jet/spool")
    # Completed sessions go to this many streams (jet:sessions:{N}), spread over a Redis Cluster.
    stream_shards: int = Field(default=16, ge=1, le=1024)


class DatabaseSettings(Model):
    secret_fields = ("url",)

    url: str = "sqlite+aiosqlite:///var/lib/jet/jet.db"

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value


class ControlSettings(Model):
    socket: Path = Path(DEFAULT_SOCKET)
    mode: int = 0o660


class MetricsSettings(Model):
    enabled: bool = True
    listen: Listen = ListenAddress(host="127.0.0.1", port=9812)



class ApiSettings(Model):
    enabled: bool = True
    listen: Listen = ListenAddress(host="127.0.0.1", port=8080)



class CatalogSettings(Model):
    files: list[Path] = []


class DiameterPeer(Model):
    origin_host: str = Field(min_length=1)
    address: ipaddress.IPv4Address | ipaddress.IPv6Address


class DiameterSettings(Model):
    enabled: bool = False
    listen: str = "0.0.0.0"
    port: int = Field(default=3868, ge=0, le=65535)
    origin_host: str = "jet.example.net"
    origin_realm: str = "example.net"
    peers: list[DiameterPeer] = []
    host_ip_address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address("127.0.0.1")  # CEA
    rating_groups: dict[str, str] = {}  # Rating-Group -> the plan's data class, e.g. { "10" = "web" }
    validity_time: int = Field(default=600, ge=1, le=86400)  # seconds a grant is held
    grant_octets: int = Field(default=10_000_000, ge=1, lt=2**53)  # octets granted per rating group
    grant_seconds: int = Field(default=300, ge=1, le=86400)  # seconds granted when CC-Time is asked
    # What the gateway does once the last grant of a used-up allowance is spent (RFC 4006
    # §8.34): end the service, or send the subscriber's traffic to redirect_address (a top-up
    # page: its type one of url, ipv4, ipv6, sip_uri).
    final_unit_action: Literal["terminate", "redirect"] = "terminate"
    redirect_address: str | None = Field(default=None, min_length=1)
    redirect_address_type: Literal["url", "ipv4", "ipv6", "sip_uri"] = "url"
    # with radius.workers > 1: every worker listens (SO_REUSEPORT), not worker 0 alone
    all_workers: bool = False

    @model_validator(mode="after")
    def _redirect_has_an_address(self) -> DiameterSettings:
        if self.final_unit_action == "redirect" and not self.redirect_address:
            raise ValueError('final_unit_action = "redirect" needs redirect_address (e.g. a top-up page URL)')
        return self


class SmtpSettings(Model):
    secret_fields = ("password",)

    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = "billing@example.net"
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = Field(default=30.0, gt=0)


class InvoicerRealm(Model):
    """One realm's invoice and receipt e-mails (``[invoicer.realms.NAME]``): its own sender and
    texts; each key left out keeps Jet's. Placeholders: docs/billing.md."""

    sender: str | None = None  # From:; default [smtp] sender
    reply_to: str | None = None
    invoice_subject: str | None = None
    invoice_body: str | None = None
    receipt_subject: str | None = None
    receipt_body: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_files(cls, data: Any) -> Any:  # invoice_body_file, receipt_body_file: texts of files
        return text_from_file(text_from_file(data, "invoice_body"), "receipt_body")

    @model_validator(mode="after")
    def _templates_valid(self) -> InvoicerRealm:
        self.templates()
        return self

    def templates(self) -> tuple[Any, Any]:
        """(invoice MailTemplate, receipt MailTemplate), Jet's own where not given."""
        from invoicing.errors import TemplateError
        from invoicing.mailer import DEFAULT_INVOICE_TEMPLATE, DEFAULT_RECEIPT_TEMPLATE, MailTemplate

        out = []
        for default in (DEFAULT_INVOICE_TEMPLATE, DEFAULT_RECEIPT_TEMPLATE):
            subject = getattr(self, f"{default.kind}_subject")
            body = getattr(self, f"{default.kind}_body")
            try:
                out.append(MailTemplate(default.kind, subject if subject is not None else default.subject,
                                        body if body is not None else default.body))
            except TemplateError as exc:
                raise ValueError(str(exc)) from None
        return out[0], out[1]


class InvoicerSettings(Model):
    """jet-invoicer: stream intake, scheduled billing runs, delivery (docs/billing.md)."""

    group: str = Field(default="jet-invoicer", min_length=1)  # the consumer group on the session streams
    consumer: str = ""  # this invoicer's name in the group; "" = hostname-pid
    batch: int = Field(default=200, ge=1, le=10000)
    claim_idle: float = Field(default=60.0, gt=0)  # seconds before another consumer takes a pending message
    run_at: str = Field(default="02:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")  # daily run, UTC
    due_days: int = Field(default=14, ge=0, le=365)
    grace_days: int = Field(default=7, ge=0, le=365)  # after the due date, before invoice.overdue
    payment_instructions: str = ""
    print_outbox: Path = Path("/var/lib/jet/print-outbox")
    render_processes: int = Field(default=2, ge=1, le=64)
    retry_first: float = Field(default=60.0, gt=0)  # seconds after the first failed send, then doubling
    retry_longest: float = Field(default=21600.0, gt=0)
    retry_attempts: int = Field(default=16, ge=1)
    metrics_listen: str = ""  # "127.0.0.1:9813" to serve /metrics; "" = off
    realms: dict[str, InvoicerRealm] = Field(default_factory=dict)  # per-realm sender and texts


class LogSettings(Model):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "text"] = "json"


class DaemonSettings(Model):
    drain_seconds: float = Field(default=5.0, gt=0, le=300)


class Settings(Model):
    """The whole of jet.toml."""

    daemon: DaemonSettings = DaemonSettings()
    log: LogSettings = LogSettings()
    radius: RadiusSettings = RadiusSettings()
    redis: RedisSettings = RedisSettings()
    quota: QuotaSettings = QuotaSettings()
    database: DatabaseSettings = DatabaseSettings()
    control: ControlSettings = ControlSettings()
    metrics: MetricsSettings = MetricsSettings()
    api: ApiSettings = ApiSettings()
    catalog: CatalogSettings = CatalogSettings()
    diameter: DiameterSettings = DiameterSettings()
    smtp: SmtpSettings = SmtpSettings()
    invoicer: InvoicerSettings = InvoicerSettings()
    hooks: HooksSettings = HooksSettings()

    @field_validator("*", mode="before")
    @classmethod
    def _sections_are_tables(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and not isinstance(value, dict | BaseModel):
            raise ValueError(f"[{info.field_name}] must be a table")
        return value


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    """Make the relative paths in the file relative to the file's folder."""

    def fix(value: Any) -> Any:
        if isinstance(value, str) and value and not os.path.isabs(value):
            return os.path.normpath(base / value)
        return value

    catalog = data.get("catalog")
    if isinstance(catalog, dict) and isinstance(catalog.get("files"), list):
        catalog["files"] = [fix(f) for f in catalog["files"]]
    radius = data.get("radius")
    if isinstance(radius, dict) and isinstance(radius.get("dictionaries"), list):
        radius["dictionaries"] = [fix(f) for f in radius["dictionaries"]]
    for section, key in (("control", "socket"), ("quota", "spool_dir"), ("invoicer", "print_outbox")):
        table = data.get(section)
        if isinstance(table, dict) and key in table:
            table[key] = fix(table[key])

    def fix_files(value: Any) -> None:
        """Every ``NAME_file`` key, in tables and arrays of tables at any depth."""
        if isinstance(value, dict):
            for key, item in value.items():
                if key.endswith("_file"):
                    value[key] = fix(item)
                else:
                    fix_files(item)
        elif isinstance(value, list):
            for item in value:
                fix_files(item)

    fix_files(data)


def parse_settings(text: str, file: str, base: Path | None = None) -> Settings:
    """Validate TOML text; raise ConfigError naming every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = None
        msg = str(exc)
        if "(at line " in msg:
            try:
                line = int(msg.split("(at line ")[1].split(",")[0])
            except ValueError:
                line = None
        raise ConfigError([Problem(file, "", f"not valid TOML: {msg}", line)]) from None
    _resolve_paths(data, base if base is not None else Path(file).parent)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            reason = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                reason = "unknown key"
            problems.append(Problem(file, _key_path(err["loc"]), reason))
        raise ConfigError(problems) from None


def load_settings(path: str | Path) -> Settings:
    """Read and validate a config file; raise ConfigError naming every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(str(path), "", f"cannot read: {exc.strerror}")]) from None
    return parse_settings(text, str(path), path.parent.resolve())
