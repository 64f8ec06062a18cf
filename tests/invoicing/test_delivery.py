"""Delivery policy, backoff schedule, SMTP outages and the print outbox."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from invoicing.delivery import (
    Channel,
    Delivered,
    Deliverer,
    DeliveryResult,
    FailedPermanently,
    PrintOutbox,
    RealmDelivery,
    RetryAt,
    RetryPolicy,
    choose_channel,
    deliver_until_settled,
)
from invoicing.errors import TransientDeliveryError
from invoicing.mailer import Mailer
from invoicing.pdf import render_invoice
from invoicing.smtp import SmtpConfig
from tests.invoicing import factories as f
from tests.invoicing.conftest import SmtpServer, free_port, start_smtp

NOW = datetime(2026, 6, 30, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def s7_pdf() -> bytes:
    return render_invoice(f.s7_june())


def test_backoff_schedule_is_a_pure_function_of_the_attempt() -> None:
    p = RetryPolicy()
    minutes = [p.delay(n) / timedelta(minutes=1) for n in range(1, 12)]
    assert minutes == [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360]
    assert p.delay(10_000) == timedelta(hours=6)
    assert p.next_attempt(3, NOW) == NOW + timedelta(minutes=4)
    assert p.next_attempt(p.max_attempts, NOW) is None
    with pytest.raises(ValueError):
        p.delay(0)
    with pytest.raises(ValueError):
        RetryPolicy(first=timedelta(0))


@pytest.mark.parametrize(
    ("realm", "account", "address", "channel"),
    [
        (True, None, "a@x", Channel.EMAIL),
        (False, None, "a@x", Channel.PRINT),
        (False, True, "a@x", Channel.EMAIL),
        (True, False, "a@x", Channel.PRINT),
        (True, None, None, Channel.PRINT),  # nowhere to send it: print it
    ],
)
def test_channel_per_realm_and_account(realm: bool, account: bool | None, address: str | None,
                                       channel: Channel) -> None:  # fmt: skip
    assert choose_channel(realm, account, address) is channel


async def test_smtp_down_then_up_is_delivered_exactly_once(s7_pdf: bytes, tmp_path: Path) -> None:
    port = free_port()  # nothing listens here yet
    mailer = Mailer(SmtpConfig(host="127.0.0.1", port=port, sender="billing@otautahi.example", timeout=5))
    deliverer = Deliverer(mailer, PrintOutbox(tmp_path / "outbox"))
    invoice, realm = f.s7_june(), RealmDelivery()

    first = await deliverer.deliver_invoice(invoice, s7_pdf, realm, now=NOW)
    assert isinstance(first, RetryAt)
    assert (first.attempts, first.at) == (1, NOW + timedelta(minutes=1))
    assert "unavailable" in first.reason

    second = await deliverer.deliver_invoice(invoice, s7_pdf, realm, now=first.at, attempts=first.attempts)
    assert isinstance(second, RetryAt)
    assert (second.attempts, second.at) == (2, first.at + timedelta(minutes=2))

    controller, server = start_smtp(port)
    try:
        third = await deliverer.deliver_invoice(invoice, s7_pdf, realm, now=second.at,
                                                attempts=second.attempts)  # fmt: skip
    finally:
        controller.stop()
    assert isinstance(third, Delivered)
    assert (third.channel, third.attempts, third.at) == (Channel.EMAIL, 3, second.at)
    assert len(server.inbox.raw) == 1
    assert not (tmp_path / "outbox").exists()  # e-mail failures never fall back to paper


async def test_gives_up_after_max_attempts(s7_pdf: bytes, tmp_path: Path) -> None:
    mailer = Mailer(SmtpConfig(host="127.0.0.1", port=free_port(), timeout=5))
    deliverer = Deliverer(mailer, PrintOutbox(tmp_path), RetryPolicy(max_attempts=3))
    result = await deliverer.deliver_invoice(f.s7_june(), s7_pdf, RealmDelivery(), now=NOW, attempts=2)
    assert isinstance(result, FailedPermanently)
    assert result.attempts == 3 and result.reason.startswith("gave up after 3 attempts")


async def test_email_off_writes_the_pdf_to_the_print_outbox(
    smtp_server: SmtpServer, s7_pdf: bytes, tmp_path: Path
) -> None:
    mailer = Mailer(SmtpConfig(host=smtp_server.host, port=smtp_server.port))
    outbox = PrintOutbox(tmp_path / "outbox")
    deliverer = Deliverer(mailer, outbox)
    result = await deliverer.deliver_invoice(f.s7_june(), s7_pdf, RealmDelivery(email_enabled=False), now=NOW)
    assert isinstance(result, Delivered) and result.channel is Channel.PRINT
    path = tmp_path / "outbox" / "default" / "INV-default-2026-000001.pdf"
    assert result.detail == str(path)
    assert path.read_bytes() == s7_pdf
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left
    assert smtp_server.inbox.raw == []

    # the account turns e-mail off although the realm has it on; written again: replaced
    again = await deliverer.deliver_invoice(f.s7_june(), s7_pdf, RealmDelivery(), now=NOW,
                                            account_email=False)  # fmt: skip
    assert isinstance(again, Delivered) and again.channel is Channel.PRINT
    no_address = replace(f.s7_june(), buyer=replace(f.buyer(), email=None))
    third = await deliverer.deliver_invoice(no_address, s7_pdf, RealmDelivery(), now=NOW)
    assert isinstance(third, Delivered) and third.channel is Channel.PRINT
    assert smtp_server.inbox.raw == []


async def test_unwritable_outbox_is_retried(s7_pdf: bytes, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    deliverer = Deliverer(Mailer(SmtpConfig()), PrintOutbox(blocker / "outbox"))
    result = await deliverer.deliver_invoice(f.s7_june(), s7_pdf, RealmDelivery(email_enabled=False), now=NOW)
    assert isinstance(result, RetryAt) and "cannot write" in result.reason


async def test_deliver_until_settled_sleeps_the_backoff_with_an_injected_clock() -> None:
    clock = [NOW]
    slept: list[float] = []
    calls: list[int] = []

    async def attempt(now: datetime, attempts: int) -> DeliveryResult:
        calls.append(attempts)
        if attempts < 2:
            return RetryAt(now + RetryPolicy().delay(attempts + 1), attempts + 1, "down")
        return Delivered(Channel.EMAIL, now, attempts + 1, "250 OK")

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += timedelta(seconds=seconds)

    result = await deliver_until_settled(attempt, clock=lambda: clock[0], sleep=sleep)
    assert isinstance(result, Delivered) and result.attempts == 3
    assert calls == [0, 1, 2] and slept == [60.0, 120.0]


async def test_transient_error_from_a_fake_mailer_is_retried(s7_pdf: bytes, tmp_path: Path) -> None:
    async def send(*args: Any, **kwargs: Any) -> Any:
        raise TransientDeliveryError("421 try later")

    policy = RetryPolicy(first=timedelta(seconds=5))
    deliverer = Deliverer(Mailer(SmtpConfig(), send=send), PrintOutbox(tmp_path), policy)
    result = await deliverer.deliver_invoice(f.s7_june(), s7_pdf, RealmDelivery(), now=NOW)
    assert result == RetryAt(NOW + timedelta(seconds=5), 1, "421 try later")
