"""Getting a rendered document to the customer: e-mail, or the print outbox.

One call makes one attempt and returns a result the caller stores with the invoice:
`Delivered`, `RetryAt` (a transient failure; try again at that time) or
`FailedPermanently`. Nothing here sleeps or reads the clock: `now` is passed in, and
the retry schedule is a pure function of the attempt number, so a worker that stores
the result and comes back at `RetryAt.at` loses nothing while the SMTP server is down.

Which channel: e-mail when the realm has it on and the account does not turn it off
(an account setting of None follows the realm); otherwise, or when the account has no
e-mail address, the PDF is written to the print outbox to be printed and posted.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from invoicing.errors import DeliveryError, TransientDeliveryError
from invoicing.mailer import (
    DEFAULT_INVOICE_TEMPLATE,
    DEFAULT_RECEIPT_TEMPLATE,
    Mailer,
    MailTemplate,
    build_message,
    invoice_fields,
    receipt_fields,
)
from invoicing.model import Invoice, Receipt


class Channel(StrEnum):
    EMAIL = "email"
    PRINT = "print"


@dataclass(frozen=True)
class RealmDelivery:
    """A realm's delivery settings."""

    email_enabled: bool = True
    sender: str | None = None  # From: address; None = the [smtp] sender
    reply_to: str | None = None
    invoice_template: MailTemplate = DEFAULT_INVOICE_TEMPLATE
    receipt_template: MailTemplate = DEFAULT_RECEIPT_TEMPLATE


def choose_channel(realm_email: bool, account_email: bool | None, address: str | None) -> Channel:
    """E-mail if switched on (the account's setting wins over the realm's) and there is an address."""
    wanted = realm_email if account_email is None else account_email
    return Channel.EMAIL if wanted and address else Channel.PRINT


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: delay(n) = min(first * factor**(n-1), longest), at most `max_attempts`
    attempts in all. Defaults: 1, 2, 4, … minutes, capped at 6 h, giving up after 16 attempts
    (about 44 hours after the first)."""

    first: timedelta = timedelta(minutes=1)
    factor: int = 2
    longest: timedelta = timedelta(hours=6)
    max_attempts: int = 16

    def __post_init__(self) -> None:
        if self.first <= timedelta(0) or self.longest < self.first:
            raise ValueError(f"invalid retry policy {self}")
        if self.factor < 1 or self.max_attempts < 1:
            raise ValueError(f"invalid retry policy {self}")

    def delay(self, attempt: int) -> timedelta:
        """Wait after the `attempt`-th failed attempt (1-based)."""
        if attempt < 1:
            raise ValueError("attempt numbers start at 1")
        growth: int = self.factor ** min(attempt - 1, 64)  # bounded: a huge attempt cannot overflow
        if growth >= self.longest / self.first:
            return self.longest
        return self.first * growth

    def next_attempt(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after `attempts` failures, or None when it is time to give up."""
        return None if attempts >= self.max_attempts else now + self.delay(attempts)


@dataclass(frozen=True)
class Delivered:
    channel: Channel
    at: datetime
    attempts: int
    detail: str  # the SMTP server's reply, or the outbox file written


@dataclass(frozen=True)
class RetryAt:
    at: datetime
    attempts: int  # made so far
    reason: str


@dataclass(frozen=True)
class FailedPermanently:
    at: datetime
    attempts: int
    reason: str


DeliveryResult = Delivered | RetryAt | FailedPermanently


class PrintOutbox:
    """A folder of PDFs to print and post: `<root>/<realm>/<filename>`.

    Files appear atomically (written to a temporary name, fsynced, renamed), so a
    print job watching the folder never sees half a PDF. Writing the same document
    again replaces it.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path_for(self, realm: str, filename: str) -> Path:
        safe_realm = "".join(c if c.isalnum() or c in "._-" else "_" for c in realm).strip(".") or "_"
        return self.root / safe_realm / filename

    def write(self, realm: str, filename: str, pdf: bytes) -> Path:
        target = self.path_for(realm, filename)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(pdf)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            _fsync_dir(target.parent)
        except OSError as exc:
            raise TransientDeliveryError(f"cannot write {target}: {exc}") from exc
        return target


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Outgoing:
    """A rendered document and where it may go."""

    realm: str
    number: str
    filename: str
    pdf: bytes
    address: str | None
    subject: str
    body: str


class Deliverer:
    """Makes one delivery attempt per call; see the module docstring."""

    def __init__(
        self,
        mailer: Mailer,
        outbox: PrintOutbox,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.mailer = mailer
        self.outbox = outbox
        self.retry = retry or RetryPolicy()

    async def deliver_invoice(
        self, invoice: Invoice, pdf: bytes, realm: RealmDelivery, *, now: datetime,
        account_email: bool | None = None, attempts: int = 0, message_key: str | None = None,
    ) -> DeliveryResult:  # fmt: skip
        """One attempt to deliver `invoice` (already rendered to `pdf`).

        `attempts` is how many were made before (stored with the last RetryAt);
        `message_key` names this delivery in the Message-ID (default: the invoice number;
        a deliberate resend should pass a new key).
        """
        subject, body = realm.invoice_template.render(invoice_fields(invoice))
        doc = Outgoing(invoice.realm, invoice.number, invoice.filename, pdf, invoice.buyer.email,
                       subject, body)  # fmt: skip
        channel = choose_channel(realm.email_enabled, account_email, invoice.buyer.email)
        return await self._deliver(doc, channel, realm, now, attempts, message_key)

    async def deliver_receipt(
        self, receipt: Receipt, pdf: bytes, realm: RealmDelivery, *, now: datetime,
        account_email: bool | None = None, attempts: int = 0, message_key: str | None = None,
    ) -> DeliveryResult:  # fmt: skip
        subject, body = realm.receipt_template.render(receipt_fields(receipt))
        doc = Outgoing(receipt.realm, receipt.number, receipt.filename, pdf, receipt.buyer.email,
                       subject, body)  # fmt: skip
        channel = choose_channel(realm.email_enabled, account_email, receipt.buyer.email)
        return await self._deliver(doc, channel, realm, now, attempts, message_key)

    async def _deliver(
        self, doc: Outgoing, channel: Channel, realm: RealmDelivery, now: datetime, attempts: int,
        message_key: str | None,
    ) -> DeliveryResult:  # fmt: skip
        attempt = attempts + 1
        try:
            if channel is Channel.PRINT:
                # off the event loop: the write is fsynced
                path = await asyncio.to_thread(self.outbox.write, doc.realm, doc.filename, doc.pdf)
                return Delivered(Channel.PRINT, now, attempt, str(path))
            assert doc.address is not None
            message = build_message(
                sender=realm.sender or self.mailer.config.sender, to=doc.address, subject=doc.subject,
                body=doc.body, pdf=doc.pdf, filename=doc.filename, message_key=message_key or doc.number,
                now=now, reply_to=realm.reply_to,
            )  # fmt: skip
            reply = await self.mailer.send(message)
            return Delivered(Channel.EMAIL, now, attempt, reply)
        except DeliveryError as exc:
            if not exc.transient:
                return FailedPermanently(now, attempt, exc.reason)
            at = self.retry.next_attempt(attempt, now)
            if at is None:
                return FailedPermanently(now, attempt, f"gave up after {attempt} attempts: {exc.reason}")
            return RetryAt(at, attempt, exc.reason)


async def deliver_until_settled(
    attempt: Callable[[datetime, int], Awaitable[DeliveryResult]],
    *,
    clock: Callable[[], datetime],
    sleep: Callable[[float], Awaitable[object]],
) -> DeliveryResult:
    """Call `attempt(now, attempts_so_far)` until it is delivered or fails for good, sleeping
    until each RetryAt in between. For one-off callers (a resend from jetctl); the worker
    stores RetryAt instead of waiting. `clock` and `sleep` are injected."""
    attempts = 0
    while True:
        result = await attempt(clock(), attempts)
        if not isinstance(result, RetryAt):
            return result
        attempts = result.attempts
        await sleep(max(0.0, (result.at - clock()).total_seconds()))
