"""Hooks from outside: jetctl account add → the welcome e-mail arrives at a real SMTP
server; a hook added by reload runs; jetctl hooks failed / retry; the delivery metric; a
delivery held up by a down SMTP server survives a jetd restart and arrives once."""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.harness import Jetd, base_config, wait_for
from tests.acceptance.mail import Smtp


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp()
    server.up()
    yield server
    server.down()




def config_text(tmp: Path, smtp: Smtp, hooks: str = "") -> str:
    return base_config(tmp, smtp=f"""
[smtp]
host = "127.0.0.1"
port = {smtp.port}
sender = "welcome@isp.example"
timeout = 5
""", hooks=f"""
[hooks]
poll_interval = 0.2
backoff_initial = 0.2
backoff_max = 1.0
max_attempts = 1000
{hooks}
""")


def picky(tmp: Path) -> str:
    """An exec hook that fails (exit 7) until the file ``ok`` exists."""
    return f"""
[[hooks.hook]]
name = "picky"
action = "exec"
events = ["account.created"]
max_attempts = 2
argv = ["{sys.executable}", "-c", "import os, sys; sys.exit(0 if os.path.exists('{tmp / 'ok'}') else 7)"]
"""


@pytest.fixture
def config(tmp_path: Path, smtp: Smtp) -> Path:
    path = tmp_path / "jet.toml"
    path.write_text(config_text(tmp_path, smtp, picky(tmp_path)))
    return path


def test_account_add_sends_the_welcome_email(config: Path, smtp: Smtp, tmp_path: Path) -> None:
    daemon = Jetd(config)
    try:
        daemon.wait_ready()
        daemon.ctl("account", "add", "alice", "--password", "correct-horse", "--email", "alice@example.org",
                   "--contact-name", "Alice")
        wait_for(lambda: len(smtp.inbox.raw) == 1)
        [msg] = smtp.inbox.messages
        assert msg["To"] == "alice@example.org" and msg["From"] == "welcome@isp.example"
        assert "alice" in msg["Subject"] and "Kia ora Alice" in msg.get_content()

        def welcome() -> dict[str, Any]:
            listed = json.loads(daemon.ctl("hooks", "list", "--json").stdout)["items"]
            return dict(next(i for i in listed if i["name"] == "builtin.welcome"))

        # The message can reach the SMTP server a moment before the delivery is recorded.
        wait_for(lambda: welcome()["done"] == 1)
        assert welcome()["done"] == 1 and welcome()["failed"] == 0
        _, metrics = daemon.http_get(daemon.listener("metrics"))
        assert 'jet_hook_deliveries_total{result="ok"}' in metrics

        # Reload adds an exec hook; the next event runs it (argv, JSON on stdin).
        out = tmp_path / "events.jsonl"
        config.write_text(config_text(tmp_path, smtp, picky(tmp_path) + f"""
[[hooks.hook]]
name = "log"
action = "exec"
events = ["account.suspended"]
argv = ["{sys.executable}", "-c", "import sys; open(sys.argv[1], 'a').write(sys.stdin.read() + chr(10))",
        "{out}"]
"""))
        daemon.signal(signal.SIGHUP)
        wait_for(lambda: any(i["name"] == "log" for i in json.loads(
            daemon.ctl("hooks", "list", "--json").stdout)["items"]))
        daemon.ctl("account", "suspend", "alice")
        wait_for(lambda: out.exists() and out.read_text().strip() != "")
        doc = json.loads(out.read_text().splitlines()[0])
        assert doc["type"] == "account.suspended" and doc["data"]["account"]["username"] == "alice"
        # The built-in suspension notice went out too.
        wait_for(lambda: len(smtp.inbox.raw) == 2)
        assert "suspended" in smtp.inbox.messages[1]["Subject"]

        # The picky hook failed twice on alice's creation: parked, listed, retried by hand.
        wait_for(lambda: json.loads(daemon.ctl("hooks", "failed", "--json").stdout)["items"])
        [failed] = json.loads(daemon.ctl("hooks", "failed", "--json").stdout)["items"]
        assert failed["hook"] == "picky" and failed["attempts"] == 2
        assert "exit status 7" in failed["last_error"]
        assert "picky" in daemon.ctl("hooks", "failed").stdout
        (tmp_path / "ok").write_text("")
        assert "queued again" in daemon.ctl("hooks", "retry", str(failed["id"])).stdout
        wait_for(lambda: [d["status"] for d in json.loads(daemon.ctl(
            "hooks", "deliveries", "--hook", "picky", "--json").stdout)["items"]] == ["done"])
        assert json.loads(daemon.ctl("hooks", "failed", "--json").stdout)["items"] == []
        again = daemon.ctl("hooks", "retry", str(failed["id"]), check=False)
        assert again.returncode != 0 and "not failed" in again.stderr
    finally:
        daemon.stop()


def test_a_held_delivery_survives_a_restart_and_arrives_once(config: Path, smtp: Smtp) -> None:
    daemon = Jetd(config)
    try:
        daemon.wait_ready()
        smtp.down()
        daemon.ctl("account", "add", "bob", "--email", "bob@example.org")
        wait_for(lambda: any(d["attempts"] >= 1 for d in json.loads(daemon.ctl(
            "hooks", "deliveries", "--hook", "builtin.welcome", "--json").stdout)["items"]))
        assert daemon.stop() == 0
        smtp.up()
        daemon = Jetd(config)
        daemon.wait_ready()
        wait_for(lambda: len(smtp.inbox.raw) == 1)
        time.sleep(1.0)  # a few more dispatcher rounds: nothing is sent twice
        assert len(smtp.inbox.raw) == 1
        assert smtp.inbox.messages[0]["To"] == "bob@example.org"
    finally:
        daemon.stop()



PRICEBOOK = Path(__file__).parents[2] / "config" / "pricebook.example.toml"
NAS_SECRET = "hooks-nas-secret"


def test_overdue_suspends_and_disconnects_then_payment_resumes(tmp_path: Path, smtp: Smtp,
                                                                module_redis_url: str) -> None:
    """invoice.overdue (written to the outbox as jet-invoicer will) → suspended, the open
    session gets a Disconnect-Request, a notice goes out; paying up resumes the account."""
    import asyncio

    from provisioning.db import make_engine
    from provisioning.events import record_event
    from tests.acceptance.nas import NasStandIn
    from tests.acceptance.radclient import radclient

    nas = NasStandIn(NAS_SECRET.encode())
    config = tmp_path / "jet.toml"
    text = config_text(tmp_path, smtp).replace('url = "redis://127.0.0.1:1/0"', f'url = "{module_redis_url}"')
    config.write_text(text + f"""
[catalog]
files = ["{PRICEBOOK}"]

[[radius.clients]]
name = "bras1"
address = "127.0.0.1"
secret = "{NAS_SECRET}"
coa_port = {nas.port}
""")
    daemon = Jetd(config)
    try:
        daemon.wait_ready()
        daemon.ctl("account", "add", "owes", "--password", "pw-owes-123", "--plan", "Business Metered",
                   "--email", "owes@example.org")
        daemon.ctl("account", "plan", "owes", "Business Metered", "--from", "2026-06-01")
        account_id = json.loads(daemon.ctl("account", "show", "owes", "--json").stdout)["id"]
        acct = daemon.listener("radius-acct").removeprefix("udp://")
        pairs = ('User-Name = "owes", Acct-Session-Id = "od-1", Acct-Status-Type = Start, '
                 'NAS-IP-Address = 127.0.0.1, Event-Timestamp = "Jun 12 2026 08:00:00 UTC"\n')
        assert radclient(acct, "acct", NAS_SECRET, pairs).code == "Accounting-Response"
        daemon.ctl("charge", "owes", "40.00", "--description", "June")

        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'jet.db'}")

        async def overdue() -> None:
            from datetime import UTC, datetime
            try:
                await record_event(engine, "invoice.overdue", account_id, "default",
                                   {"invoice": {"number": "INV-default-2026-000001", "total": "40.00",
                                                "due_date": "2026-06-20"}}, now=datetime.now(UTC))
            finally:
                await engine.dispose()

        asyncio.run(overdue())
        wait_for(lambda: any(p.code == 40 for p in nas.received))  # Disconnect-Request
        disconnect = nas.attributes(next(p for p in nas.received if p.code == 40))
        assert disconnect["User-Name"] == "owes" and disconnect["Acct-Session-Id"] == "od-1"
        show = json.loads(daemon.ctl("account", "show", "owes", "--json").stdout)
        assert show["status"] == "suspended"
        wait_for(lambda: any("suspended" in str(m["Subject"]) for m in smtp.inbox.messages))

        daemon.ctl("payment", "owes", "40.00", "--reference", "bank-77")
        wait_for(lambda: json.loads(daemon.ctl("account", "show", "owes", "--json").stdout)["status"]
                 == "active")
        done = json.loads(daemon.ctl("hooks", "deliveries", "--hook", "builtin.suspend_overdue",
                                     "--json").stdout)["items"]
        assert [d["status"] for d in done] == ["done"] and "disconnect: ack" in done[0]["result"]
    finally:
        daemon.stop()
        nas.close()
