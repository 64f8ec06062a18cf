"""Delivery from the outbox: exec, http and e-mail against real targets; retries, order per
account, parking and retry, restarts, targets down then back (each event once in effect)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from jetd.hooks.actions import communicate
from jetd.hooks.dispatcher import DELIVERIES
from jetd.hooks.template import TemplateError, render
from provisioning import events as ev
from provisioning.models import OPERATOR, NewAccount
from provisioning.service import Service
from tests.hooks.conftest import BOTH, SECRET, MakeDispatcher, Receiver, Smtp, until

RECORDER = """
import json, os, sys
doc = json.load(sys.stdin)
with open(sys.argv[1], "a") as f:
    f.write(json.dumps({"doc": doc, "env_user": os.environ.get("JET_ACCOUNT_USERNAME"),
                        "env_type": os.environ.get("JET_EVENT_TYPE"), "arg": sys.argv[2],
                        "home": os.environ.get("HOME")}) + "\\n")
"""


def counter(result: str) -> float:
    return DELIVERIES.labels(result=result)._value.get()


async def deliveries(service: Service, hook: str) -> list[ev.Delivery]:
    async with service.engine.connect() as conn:
        return sorted(await ev.list_deliveries(conn, status=None, hook=hook, limit=1000), key=lambda d: d.id)


async def test_exec_gets_the_event_on_stdin_and_in_env(service: Service, make_dispatcher: MakeDispatcher,
                                                       tmp_path: Path) -> None:
    script = tmp_path / "rec.py"
    script.write_text(RECORDER)
    out = tmp_path / "out.jsonl"
    d = await make_dispatcher([{"name": "rec", "action": "exec", "events": ["account.*"],
                                "argv": [sys.executable, str(script), str(out),
                                         "$account_username; rm -rf /"]}])
    a = await service.create_account(OPERATOR, NewAccount("alice", password="pw1234567", email="a@x.example"))
    await service.suspend(OPERATOR, a.id, reason="test")
    await until(d, lambda: out.exists() and len(out.read_text().splitlines()) == 2)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["doc"]["type"] for x in lines] == ["account.created", "account.suspended"]
    first = lines[0]
    assert first["doc"]["version"] == 1 and first["doc"]["account_id"] == a.id
    assert first["doc"]["data"]["account"]["username"] == "alice"
    assert "password_hash" not in json.dumps(first["doc"])
    assert first["env_user"] == "alice" and first["env_type"] == "account.created"
    assert first["arg"] == "alice; rm -rf /"  # one argv item, no shell
    assert first["home"] is None  # the environment is the event's, not jetd's
    rows = await deliveries(service, "rec")
    assert [(r.status, r.result) for r in rows] == [("done", "exit status 0")] * 2


async def test_exec_failure_is_retried_then_parked_then_retried_by_hand(
        service: Service, make_dispatcher: MakeDispatcher, tmp_path: Path) -> None:
    flag = tmp_path / "ok"
    d = await make_dispatcher([{"name": "flaky", "action": "exec", "events": ["account.created"],
                                "argv": [sys.executable, "-c", "import os,sys; "
                                         f"sys.exit(0 if os.path.exists({str(flag)!r}) else 3)"],
                                "max_attempts": 3}])
    failed_before = counter("failed")
    await service.create_account(OPERATOR, NewAccount("bob"))
    await until(d, lambda: counter("failed") > failed_before)
    [row] = await deliveries(service, "flaky")
    assert row.status == "failed" and row.attempts == 3 and "exit status 3" in (row.last_error or "")
    flag.write_text("")
    async with service.engine.begin() as conn:
        assert await ev.retry(conn, row.id, service.now())
    done: list[ev.Delivery] = []

    async def refresh() -> None:
        done[:] = [r for r in await deliveries(service, "flaky") if r.status == "done"]

    for _ in range(200):
        await d.run_once()
        await refresh()
        if done:
            break
    assert done and done[0].id == row.id


@pytest.mark.parametrize("database_url", BOTH, indirect=True)
async def test_http_signed_retried_in_order_per_account(service: Service, make_dispatcher: MakeDispatcher,
                                                        receiver: Receiver) -> None:
    d = await make_dispatcher([{"name": "web", "action": "http", "events": ["*"], "url": receiver.url,
                                "secret": SECRET}])
    receiver.fail_next = 2
    a = await service.create_account(OPERATOR, NewAccount("carol", email="c@x.example"))
    await service.update_account(OPERATOR, a.id, contact_name="Carol")
    await service.suspend(OPERATOR, a.id)
    await service.resume(OPERATOR, a.id)
    await until(d, lambda: len(receiver.received) == 4)
    assert [r["type"] for r in receiver.received] == ["account.created", "account.updated",
                                                     "account.suspended", "account.resumed"]
    assert receiver.bad_signatures == 0
    rows = await deliveries(service, "web")
    assert rows[0].attempts == 3 and all(r.status == "done" for r in rows)


async def test_http_target_down_then_back_each_event_once(service: Service, make_dispatcher: MakeDispatcher,
                                                          receiver: Receiver) -> None:
    d = await make_dispatcher([{"name": "web", "action": "http", "events": ["account.created"],
                                "url": receiver.url, "secret": SECRET, "timeout": 5}])
    await receiver.down()
    for i in range(5):
        await service.create_account(OPERATOR, NewAccount(f"user{i}"))
    for _ in range(5):
        await d.run_once()
    assert receiver.received == []
    await receiver.up()
    await until(d, lambda: len(receiver.received) == 5)
    for _ in range(5):
        await d.run_once()
    ids = [r["id"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == 5


@pytest.mark.parametrize("database_url", BOTH, indirect=True)
async def test_restart_loses_nothing(service: Service, make_dispatcher: MakeDispatcher,
                                     receiver: Receiver) -> None:
    hook = {"name": "web", "action": "http", "events": ["account.created"], "url": receiver.url,
            "secret": SECRET}
    first = await make_dispatcher([hook])
    await service.create_account(OPERATOR, NewAccount("before"))
    await until(first, lambda: len(receiver.received) == 1)
    await first.stop()
    # While nothing dispatches (jetd down), more events pile up in the outbox.
    await service.create_account(OPERATOR, NewAccount("during1"))
    await service.create_account(OPERATOR, NewAccount("during2"))
    second = await make_dispatcher([hook])
    await until(second, lambda: len(receiver.received) == 3)
    names = [r["data"]["account"]["username"] for r in receiver.received]
    assert names == ["before", "during1", "during2"]


async def test_email_template_and_smtp_down_then_back(service: Service, make_dispatcher: MakeDispatcher,
                                                      smtp: Smtp) -> None:
    d = await make_dispatcher([{"name": "mail", "action": "email", "events": ["account.created"],
                                "subject": "New account $account_username in $realm",
                                "body": "Hello ${account_contact_name}, your id is $account_id.\n"}], smtp)
    smtp.down()
    a = await service.create_account(OPERATOR, NewAccount("dave", email="dave@x.example",
                                                          contact_name="Dave"))
    for _ in range(3):
        await d.run_once()
    smtp.up()
    await until(d, lambda: len(smtp.inbox.raw) >= 1)
    for _ in range(5):
        await d.run_once()
    [msg] = smtp.inbox.messages
    assert msg["To"] == "dave@x.example" and msg["Subject"] == "New account dave in default"
    assert f"Hello Dave, your id is {a.id}." in msg.get_content()


@pytest.mark.parametrize("database_url", BOTH, indirect=True)
async def test_plan_and_realm_match(service: Service, make_dispatcher: MakeDispatcher,
                                    receiver: Receiver) -> None:
    d = await make_dispatcher([{"name": "web", "action": "http", "events": ["account.*"],
                                "realms": ["default"], "plans": ["pro"], "url": receiver.url,
                                "secret": SECRET}])
    await service.create_account(OPERATOR, NewAccount("home1", plan="home"))
    b = await service.create_account(OPERATOR, NewAccount("pro1", plan="pro"))
    await service.suspend(OPERATOR, b.id)  # payload has no plan: looked up
    await until(d, lambda: len(receiver.received) == 2)
    for _ in range(3):
        await d.run_once()
    assert [(r["type"], r["data"]["account"]["username"]) for r in receiver.received] == [
        ("account.created", "pro1"), ("account.suspended", "pro1")]


async def test_a_bad_template_fails_for_good_without_blocking(service: Service,
                                                              make_dispatcher: MakeDispatcher,
                                                              smtp: Smtp) -> None:
    d = await make_dispatcher([{"name": "mail", "action": "email", "events": ["account.*"],
                                "to": "ops@x.example", "subject": "$no_such_field", "body": "x"}], smtp)
    a = await service.create_account(OPERATOR, NewAccount("erin"))
    await service.suspend(OPERATOR, a.id)
    rows: list[Any] = []
    for _ in range(50):
        await d.run_once()
        rows = await deliveries(service, "mail")
        if len(rows) == 2 and all(r.status == "failed" for r in rows):
            break
    assert [r.status for r in rows] == ["failed", "failed"]
    assert "no_such_field" in (rows[0].last_error or "") and rows[0].attempts == 1


def test_templates_reach_only_the_fields() -> None:
    assert render("$a-${b}", {"a": "1", "b": "2"}) == "1-2"
    for bad in ("${a.__class__}", "${a[0]}", "$"):
        try:
            render(bad, {"a": "1"})
        except TemplateError:
            continue
        raise AssertionError(f"{bad!r} rendered")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_dispatchers_on_one_postgresql_deliver_once(service: Service,
                                                              make_dispatcher: MakeDispatcher,
                                                              receiver: Receiver) -> None:
    hook = {"name": "web", "action": "http", "events": ["account.created"], "url": receiver.url,
            "secret": SECRET}
    first, second = await make_dispatcher([hook]), await make_dispatcher([hook])
    first.start()
    second.start()
    for i in range(10):
        await service.create_account(OPERATOR, NewAccount(f"dup{i}"))
    for _ in range(600):
        if len(receiver.received) >= 10:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # a few more rounds of both
    ids = [r["id"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == 10
    assert [first.leader, second.leader].count(True) == 1
    leader, standby = (first, second) if first.leader else (second, first)
    await leader.stop()  # the other takes over
    await service.create_account(OPERATOR, NewAccount("after"))
    for _ in range(600):
        if len(receiver.received) >= 11:
            break
        await asyncio.sleep(0.05)
    assert receiver.received[-1]["data"]["account"]["username"] == "after" and standby.leader


async def test_done_deliveries_are_pruned_after_keep_done_days(
        service: Service, make_dispatcher: MakeDispatcher, receiver: Receiver) -> None:
    from datetime import timedelta

    d = await make_dispatcher([{"name": "web", "action": "http", "events": ["account.created"],
                                "url": receiver.url, "secret": SECRET}], keep_done_days=1)
    await service.create_account(OPERATOR, NewAccount("old"))
    await until(d, lambda: len(receiver.received) == 1)
    assert len(await deliveries(service, "web")) == 1
    later = service.now() + timedelta(days=2)
    d.clock = lambda: later
    d._pruned_at = None
    await d.run_once()
    assert await deliveries(service, "web") == []


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_a_program_that_exits_before_reading_its_stdin_gives_its_exit_status(loop_kind: str) -> None:
    """jetd runs on uvloop, which raises RuntimeError writing to a child's stdin once the child has
    exited (the picky hook of tests/acceptance/test_hooks.py met it under load)."""
    import uvloop

    async def run() -> tuple[int | None, bytes]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import sys; sys.stderr.write('no'); sys.exit(7)",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        await proc.wait()  # it is gone before its event is written to it
        _, err = await communicate(proc, b'{"type": "account.created"}')
        return proc.returncode, err

    loop = uvloop.new_event_loop() if loop_kind == "uvloop" else asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(run()) == (7, b"no")
    finally:
        loop.close()
