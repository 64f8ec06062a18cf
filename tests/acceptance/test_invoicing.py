"""Invoicing end to end, from outside: usage over RADIUS (radclient) into jetd, the
completed sessions over the Redis stream into jet-invoicer, `jet-invoicer run`, the
totals exact in the store (jetctl invoice), in the PDF text (pdftotext) and in the
e-mails a real SMTP server (aiosmtpd) received with the PDF attached.

S7 (Fibre 300 from 2026-06-16 with the 99.00 installation: June 148.35, July 69.00) and
S2 (Business Metered, 20 + 25 + 20 GB in June: 95.00 + GST = 109.25 on the July
invoice). And: kill the invoicer mid-batch, run it again: nothing lost, nothing doubled.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import redis

from provisioning.db import make_engine
from provisioning.models import OPERATOR, NewAccount
from provisioning.service import Service
from tests.acceptance.harness import BIN, Jetd, base_config
from tests.acceptance.radclient import radclient
from tests.invoicing.conftest import SmtpServer, free_port, pdf_text, start_smtp

PRICEBOOK = Path(__file__).parents[2] / "config" / "pricebook.example.toml"
SECRET = "inv-secret"
GB = 1_000_000_000


@pytest.fixture(scope="module")
def stream_url(module_redis_url: str) -> str:
    """A Redis database of this module's own: other tests' sessions stay out of its streams."""
    return module_redis_url


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    controller, server = start_smtp(free_port())
    yield server
    controller.stop()


def _config(tmp: Path, redis_url: str, smtp_port: int, **extra: str) -> Path:
    config = tmp / "jet.toml"
    config.write_text(base_config(
        tmp, redis_url,
        catalog=f'[catalog]\nfiles = ["{PRICEBOOK}"]\n',
        smtp=f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsender = "billing@jet.example"\n'
             'timeout = 10\n',
        invoicer=f'[invoicer]\nprint_outbox = "{tmp / "outbox"}"\nclaim_idle = 1.0\nrender_processes = 2\n',
        **extra,
    ))
    return config


def _invoicer(config: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "jet-invoicer"), "--config", str(config), *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def jetd(tmp_path_factory: pytest.TempPathFactory, stream_url: str, smtp: SmtpServer) -> Iterator[Jetd]:
    tmp = tmp_path_factory.mktemp("invoicing")
    url = stream_url
    redis.Redis.from_url(url).flushdb()
    clients = f'[[radius.clients]]\nname = "bras1"\naddress = "127.0.0.1"\nsecret = "{SECRET}"\n'
    # a hook that takes session events, so RADIUS accounting writes them (it does not otherwise)
    sessions = ('[[hooks.hook]]\nname = "sessions"\naction = "exec"\nevents = ["session.*"]\n'
                'argv = ["true"]\n')
    config = _config(tmp, url, smtp.port, clients=clients, sessions=sessions)
    daemon = Jetd(config)
    daemon.wait_ready()
    daemon.ctl("realm", "set", "default", "--currency", "NZD", "--tax-name", "GST", "--tax-rate", "0.15")
    # `jetctl account add` has no plan start date option: the plan is (re)set from the date.
    for user, plan, start in (("s7user", "Fibre 300", "2026-06-16"),
                              ("s2user", "Business Metered", "2026-06-01")):
        daemon.ctl("account", "add", user, "--password", f"pw-{user}", "--plan", plan,
                   "--email", f"{user}@example.net", "--contact-name", user.upper())
        daemon.ctl("account", "plan", user, plan, "--from", start)
    # jetd's account cache follows the outbox in order: once the last account made can log
    # in, the plan changes before it are known too
    daemon.ctl("account", "add", "sentinel", "--password", "pw-sentinel", "--plan", "Business Metered")
    server = daemon.listener("radius-auth").removeprefix("udp://")
    login = 'User-Name = "sentinel", User-Password = "pw-sentinel"\n'
    _wait_until(lambda: radclient(server, "auth", SECRET, login).code == "Access-Accept",
                "jetd never knew the accounts")
    yield daemon
    daemon.stop()


def _acct(daemon: Jetd, user: str, session: str, status: str, stamp: str, octets_out: int = 0) -> str | None:
    pairs = (f'User-Name = "{user}", Acct-Session-Id = "{session}", Acct-Status-Type = {status}, '
             f'NAS-IP-Address = 127.0.0.1, Event-Timestamp = "{stamp} UTC", Acct-Session-Time = 600, '
             f'Acct-Output-Octets = {octets_out & 0xFFFFFFFF}, Acct-Output-Gigawords = {octets_out >> 32}\n')
    return radclient(daemon.listener("radius-acct").removeprefix("udp://"), "acct", SECRET, pairs).code


def _stream_length(url: str) -> int:
    client = redis.Redis.from_url(url)
    return sum(int(client.xlen(f"jet:sessions:{{{k}}}")) for k in range(16))


def _pdf_of(message: EmailMessage) -> bytes:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    payload = part.get_content()
    assert isinstance(payload, bytes)
    return payload


@pytest.mark.timeout(400)  # jetd, jetctl and jet-invoicer processes on a loaded 2-core machine
def test_radius_usage_to_invoices_by_email(jetd: Jetd, smtp: SmtpServer, stream_url: str,
                                           tmp_path: Path) -> None:
    for n, gb in enumerate((20, 25, 20)):
        session, day = f"s2-{n}", 5 + 5 * n
        assert _acct(jetd, "s2user", session, "Start", f"Jun {day} 2026 09:00:00") == "Accounting-Response"
        assert _acct(jetd, "s2user", session, "Stop", f"Jun {day} 2026 09:10:00", gb * GB) \
            == "Accounting-Response"
    url = stream_url
    deadline = time.monotonic() + 30
    while _stream_length(url) < 3:
        assert time.monotonic() < deadline, "the completed sessions never reached the stream"
        time.sleep(0.2)

    smtp.inbox.raw.clear()
    done = _invoicer(jetd.config, "run", "--date", "2026-07-01")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    totals = {(c["account"], c["period_start"]): c["total"] for c in report["created"]}
    assert totals == {("s7user@default", "2026-06-01"): "148.35", ("s7user@default", "2026-07-01"): "69.00",
                      ("s2user@default", "2026-07-01"): "109.25"}

    listed = json.loads(jetd.ctl("invoice", "list", "--json").stdout)
    by_number = {i["number"]: i for i in listed}
    assert [(i["username"], i["subtotal"], i["tax"], i["total"]) for i in listed] == [
        ("s7user", "129.00", "19.35", "148.35"), ("s7user", "60.00", "9.00", "69.00"),
        ("s2user", "95.00", "14.25", "109.25")]
    assert all(i["delivery"]["status"] == "delivered" and i["delivery"]["channel"] == "email" for i in listed)
    assert json.loads(jetd.ctl("invoice", "list", "--undelivered", "--json").stdout) == []
    s2_number = next(n for n, i in by_number.items() if i["username"] == "s2user")
    shown = json.loads(jetd.ctl("invoice", "show", s2_number, "--json").stdout)
    assert [(x["description"], x["quantity"]) for x in shown["lines"]] == [("Data", "65")]

    # the e-mails, each with its PDF, whose text has the totals
    messages = smtp.inbox.messages
    assert sorted(m["To"] for m in messages) == ["s2user@example.net", "s7user@example.net",
                                                 "s7user@example.net"]
    texts = {m["Subject"].split()[1]: pdf_text(_pdf_of(m), tmp_path) for m in messages}
    assert set(texts) == set(by_number)
    for number, text in texts.items():
        assert number in text and by_number[number]["total"] in text
    june = next(n for n, i in by_number.items() if i["period_start"] == "2026-06-01")
    assert all(figure in texts[june] for figure in ("30.00", "99.00", "129.00", "19.35", "148.35"))
    assert all(figure in texts[s2_number] for figure in ("95.00", "14.25", "109.25"))

    # jetctl invoice pdf writes the same PDF
    out = tmp_path / "s2.pdf"
    jetd.ctl("invoice", "pdf", s2_number, "-o", str(out))
    assert "109.25" in pdf_text(out.read_bytes(), tmp_path)

    # a resend is queued by jetctl; running the period again creates nothing, sends only that
    jetd.ctl("invoice", "resend", june)
    assert json.loads(jetd.ctl("invoice", "list", "--undelivered", "--json").stdout)[0]["number"] == june
    again = _invoicer(jetd.config, "run", "--date", "2026-07-01")
    assert again.returncode == 0 and json.loads(again.stdout)["created"] == []
    assert len(smtp.inbox.messages) == 4 and smtp.inbox.messages[-1]["To"] == "s7user@example.net"

    # the events on the bus: each session started and stopped once, each invoice created once
    events = _outbox(jetd.config.parent / "jet.db")
    started = [p["session_id"] for t, p in events if t == "session.started" and p["user"] == "s2user"]
    stopped = [p for t, p in events if t == "session.stopped" and p["user"] == "s2user"]
    assert started == ["s2-0", "s2-1", "s2-2"] and [p["session_id"] for p in stopped] == started
    assert sum(Decimal(p["charges"]) for p in stopped) == Decimal("95.00")  # S2, before tax
    assert stopped[0]["counters"]["out"] == 20 * GB and stopped[0]["cause"] == ""
    created = {p["invoice"]["number"]: p["invoice"]["total"] for t, p in events if t == "invoice.created"}
    assert created == {n: i["total"] for n, i in by_number.items()}

    # s7user pays both invoices; s2user's is still owed a week past its due date: overdue, once
    jetd.ctl("payment", "s7user", "217.35", "--reference", "bank-1")
    late = _invoicer(jetd.config, "run", "--date", "2026-07-23", "--no-intake")
    assert late.returncode == 0, late.stderr[-3000:]
    assert [(f["number"], f["owed"]) for f in json.loads(late.stdout)["overdue"]] == [(s2_number, "109.25")]
    # the payment got its receipt, e-mailed with its PDF
    assert [(r["number"], r["amount"]) for r in json.loads(late.stdout)["receipts"]] == [
        ("RCT-default-2026-000001", "217.35")]
    [sent] = [m for m in smtp.inbox.messages if str(m["Subject"]).startswith("Receipt RCT-default-2026-")]
    assert sent["To"] == "s7user@example.net" and "217.35" in pdf_text(_pdf_of(sent), tmp_path)
    listed = json.loads(jetd.ctl("receipt", "list", "--account", "s7user", "--json").stdout)
    assert [(r["number"], r["delivery"]["status"]) for r in listed] == [
        ("RCT-default-2026-000001", "delivered")]
    again = _invoicer(jetd.config, "run", "--date", "2026-07-24", "--no-intake")
    assert json.loads(again.stdout)["overdue"] == []
    overdue = [p for t, p in _outbox(jetd.config.parent / "jet.db") if t == "invoice.overdue"]
    assert [(p["invoice"]["number"], p["invoice"]["owed"], p["user"]) for p in overdue] == [
        (s2_number, "109.25", "s2user")]
    # jetd's built-in suspends s2user for it, and resumes the account once it is paid
    db = jetd.config.parent / "jet.db"
    _wait_until(lambda: any(t == "account.suspended" and p["account"]["username"] == "s2user"
                            and p.get("reason") == "overdue" for t, p in _outbox(db)),
                "s2user was not suspended as overdue")
    jetd.ctl("payment", "s2user", "109.25", "--reference", "bank-2")

    def status() -> str:
        return str(json.loads(jetd.ctl("account", "show", "s2user", "--json").stdout)["status"])

    _wait_until(lambda: status() == "active", "s2user was not resumed once paid")


def _outbox(db: Path) -> list[tuple[str, dict[str, Any]]]:
    with sqlite3.connect(db) as conn:
        return [(t, json.loads(p)) for t, p in conn.execute("SELECT type, payload FROM outbox ORDER BY id")]


def _invoice_rows(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT number, account_id, period_start FROM invoices ORDER BY id").fetchall()


@pytest.mark.timeout(400)
def test_kill_the_invoicer_mid_batch_and_run_it_again(tmp_path: Path, stream_url: str) -> None:
    accounts = 150
    config = _config(tmp_path, stream_url, free_port())  # SMTP down

    async def provision() -> None:
        service = Service(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'jet.db'}"))
        await service.start()
        await service.update_realm(OPERATOR, "default", currency="NZD", tax_name="GST", tax_rate="0.15")
        await service.create_accounts(OPERATOR, [
            NewAccount(f"k{i}", plan="Fibre 300", plan_start=date(2026, 6, 16), email=f"k{i}@example.net")
            for i in range(accounts)])
        await service.close()

    asyncio.run(provision())
    proc = subprocess.Popen([str(BIN / "jet-invoicer"), "--config", str(config), "run", "--date",
                             "2026-07-01", "--no-intake"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ})
    deadline = time.monotonic() + 120
    while not _invoice_rows(tmp_path / "jet.db"):
        assert time.monotonic() < deadline and proc.poll() is None, "no invoice was made"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at_kill = len(_invoice_rows(tmp_path / "jet.db"))

    done = _invoicer(config, "run", "--date", "2026-07-01", "--no-intake")
    assert done.returncode == 0, done.stderr[-3000:]
    rows = _invoice_rows(tmp_path / "jet.db")
    assert len(rows) == 2 * accounts, f"{at_kill} invoices when killed"
    assert len({(r[1], r[2]) for r in rows}) == 2 * accounts  # nothing doubled
    assert sorted(r[0] for r in rows) == [f"INV-default-2026-{n:06}" for n in range(1, 2 * accounts + 1)]
    assert json.loads(done.stdout)["created"].__len__() == 2 * accounts - at_kill
    with sqlite3.connect(tmp_path / "jet.db") as conn:  # every invoice waits for the SMTP server
        states = conn.execute("SELECT status, count(*) FROM invoice_deliveries GROUP BY status").fetchall()
    assert states == [("pending", 2 * accounts)]


def _wait_until(predicate: Any, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


@pytest.mark.timeout(400)
def test_the_service_consumes_bills_and_delivers(jetd: Jetd, smtp: SmtpServer, tmp_path: Path) -> None:
    """Runs after the RADIUS test (module order): the invoicer as a service."""
    db = jetd.config.parent / "jet.db"
    log = (tmp_path / "invoicer.log").open("wb")
    proc = subprocess.Popen([str(BIN / "jet-invoicer"), "--config", str(jetd.config)], stdout=log, stderr=log)
    try:
        sent = len(smtp.inbox.raw)
        assert _acct(jetd, "s2user", "s2-july", "Start", "Jul 3 2026 09:00:00") == "Accounting-Response"
        assert _acct(jetd, "s2user", "s2-july", "Stop", "Jul 3 2026 09:10:00", GB) == "Accounting-Response"

        def stored() -> int:
            with sqlite3.connect(db) as conn:
                return int(conn.execute("SELECT count(*) FROM rated_sessions").fetchone()[0])

        _wait_until(lambda: stored() == 4, "the service did not store the July session")
        # at start it billed up to today's period: s7user every month since July
        today = datetime.now(UTC).date().replace(day=1).isoformat()  # the service bills by UTC date
        _wait_until(lambda: any(r[2] == today and r[1] == 1 for r in _invoice_rows(db)),
                    "no invoice for this month for s7user")
        rows = _invoice_rows(db)
        assert sorted(r[0] for r in rows) == [f"INV-default-2026-{n:06}" for n in range(1, len(rows) + 1)]
        _wait_until(lambda: not json.loads(jetd.ctl("invoice", "list", "--undelivered", "--json").stdout),
                    "the service did not deliver the new invoices")
        s7 = json.loads(jetd.ctl("invoice", "list", "--account", "s7user", "--json").stdout)
        assert {i["total"] for i in s7[1:]} == {"69.00"}
        # Each new invoice e-mailed (besides notices: the older ones are now overdue). By number,
        # not by count: delivery is at-least-once, and a send whose reply a loaded machine did
        # not see in time is sent again, with the same Message-ID.
        emailed = {str(m["Subject"]).split()[1] for m in smtp.inbox.messages[sent:]
                   if str(m["Subject"]).startswith("Invoice ")}
        assert emailed == {r[0] for r in rows[3:]}
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        log.close()
    assert code == 0
