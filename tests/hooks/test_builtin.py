"""Built-in behaviours: welcome, usage warning, overdue suspension, resume on payment,
notices; each switchable per realm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from jetd.hooks.dispatcher import Dispatcher
from jetd.hooks.settings import BuiltinSettings
from provisioning.events import record_event
from provisioning.models import OPERATOR, NewAccount
from provisioning.service import Service
from tests.hooks.conftest import MakeDispatcher, Smtp, until

ALL_ON = {"welcome": True, "usage_warning": True, "suspend_overdue": True, "resume_on_payment": True,
          "suspension_notice": True, "plan_change_notice": True,
          "realms": {"wholesale": {"welcome": False}}}


async def settle(d: Dispatcher, rounds: int = 5) -> None:
    for _ in range(rounds):
        await d.run_once()


def subjects(smtp: Smtp) -> list[tuple[str, str]]:
    return [(m["To"], m["Subject"]) for m in smtp.inbox.messages]


async def test_welcome_per_realm_and_usage_warning(service: Service, make_dispatcher: MakeDispatcher,
                                                   smtp: Smtp) -> None:
    await service.create_realm(OPERATOR, "wholesale")
    d = await make_dispatcher([], smtp, builtin=ALL_ON)
    a = await service.create_account(OPERATOR, NewAccount("amy", email="amy@x.example", contact_name="Amy",
                                                          plan="home"))
    await service.create_account(OPERATOR, NewAccount("ben", realm="wholesale", email="ben@x.example"))
    await service.create_account(OPERATOR, NewAccount("noaddr"))
    await until(d, lambda: len(smtp.inbox.raw) == 1)
    await settle(d)
    assert subjects(smtp) == [("amy@x.example", "Welcome to default, amy")]
    assert "Kia ora Amy" in smtp.inbox.messages[0].get_content()

    # RADIUS accounting raises usage.threshold with only the account id: the address is looked up.
    await record_event(service.engine, "usage.threshold", a.id, "default",
                       {"bundle": "data", "threshold": "80", "action": "notify", "plan": "home"},
                       now=service.now())
    await until(d, lambda: len(smtp.inbox.raw) == 2)
    assert subjects(smtp)[1] == ("amy@x.example", "You have used 80% of your data allowance")


async def test_builtin_mails_take_the_operators_and_the_realms_texts(
        service: Service, make_dispatcher: MakeDispatcher, smtp: Smtp, tmp_path: Path) -> None:
    await service.create_realm(OPERATOR, "visp1")
    text = tmp_path / "visp1-welcome.txt"
    text.write_text("Hello $name from VISP One. Your login: $account_username\n")
    builtin = {**ALL_ON, "mails": {"welcome": {"subject": "Welcome aboard, $name"}},
               "realms": {"visp1": {"mails": {"welcome": {"body_file": str(text)}}}}}
    d = await make_dispatcher([], smtp, builtin=builtin)
    await service.create_account(OPERATOR, NewAccount("dee", email="dee@x.example", contact_name="Dee"))
    await service.create_account(OPERATOR, NewAccount("eve", realm="visp1", email="eve@x.example",
                                                      contact_name="Eve"))
    await until(d, lambda: len(smtp.inbox.raw) == 2)
    mails = {m["To"]: (m["Subject"], m.get_content()) for m in smtp.inbox.messages}
    assert mails["dee@x.example"][0] == "Welcome aboard, Dee"  # the operator's subject, Jet's body
    assert "Kia ora Dee" in mails["dee@x.example"][1]
    assert mails["eve@x.example"][0] == "Welcome aboard, Eve"  # the realm's body, the operator's subject
    assert mails["eve@x.example"][1].strip() == "Hello Eve from VISP One. Your login: eve"


def test_builtin_mail_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="welcom: not a built-in e-mail"):
        BuiltinSettings.model_validate({"mails": {"welcom": {"subject": "x"}}})
    with pytest.raises(ValidationError, match="invalid placeholder"):
        BuiltinSettings.model_validate({"realms": {"r": {"mails": {"welcome": {"body": "pay $ now"}}}}})
    with pytest.raises(ValidationError, match="body_file: cannot read"):
        BuiltinSettings.model_validate({"mails": {"welcome": {"body_file": "/nonexistent/x.txt"}}})


async def test_overdue_suspends_payment_resumes(service: Service, make_dispatcher: MakeDispatcher,
                                                smtp: Smtp) -> None:
    d = await make_dispatcher([], smtp, builtin={**ALL_ON, "welcome": False})
    a = await service.create_account(OPERATOR, NewAccount("cat", email="cat@x.example"))
    await service.charge(OPERATOR, a.id, "50.00", description="June")
    await record_event(service.engine, "invoice.overdue", a.id, "default",
                       {"invoice": {"number": "INV-1", "total": "50.00", "due_date": "2026-06-20"}},
                       now=service.now())
    await until(d, lambda: len(smtp.inbox.raw) == 1)
    assert (await service.get_account(OPERATOR, a.id)).status == "suspended"
    assert subjects(smtp) == [("cat@x.example", "Your account cat is suspended")]
    assert "Reason: overdue" in smtp.inbox.messages[0].get_content()

    await service.payment(OPERATOR, a.id, "20.00", description="part")  # still owes 30: stays suspended
    await settle(d)
    assert (await service.get_account(OPERATOR, a.id)).status == "suspended"
    await service.payment(OPERATOR, a.id, "30.00", description="rest")
    status: list[Any] = []

    async def check() -> None:
        status[:] = [(await service.get_account(OPERATOR, a.id)).status]

    for _ in range(100):
        await d.run_once()
        await check()
        if status == ["active"]:
            break
    assert status == ["active"]


async def test_a_hand_suspension_is_not_resumed_by_payment(service: Service, make_dispatcher: MakeDispatcher,
                                                           smtp: Smtp) -> None:
    d = await make_dispatcher([], smtp, builtin={**ALL_ON, "welcome": False, "suspension_notice": False})
    a = await service.create_account(OPERATOR, NewAccount("dan", email="dan@x.example", plan="home"))
    await service.suspend(OPERATOR, a.id, reason="abuse")
    await service.payment(OPERATOR, a.id, "10.00", description="x")
    await service.change_plan(OPERATOR, a.id, "pro")
    await until(d, lambda: len(smtp.inbox.raw) == 1)
    await settle(d)
    assert (await service.get_account(OPERATOR, a.id)).status == "suspended"
    assert subjects(smtp) == [("dan@x.example", "Your plan is changing to pro")]


async def test_emit_usage_from_the_accounting_path(service: Service, make_dispatcher: MakeDispatcher,
                                                   smtp: Smtp) -> None:
    from types import SimpleNamespace

    from jetd.hooks.emit import drain, emit_usage

    d = await make_dispatcher([], smtp, builtin={**ALL_ON, "welcome": False})
    a = await service.create_account(OPERATOR, NewAccount("eli", email="eli@x.example"))
    app = SimpleNamespace(services={"provisioning": service})
    record = SimpleNamespace(account=str(a.id), realm="default", user="eli", nas="10.0.0.1",
                             session_id="s-1", now=1_780_000_000)
    emit_usage(app, record, "home", bundle="data", threshold="90", action="notify")
    emit_usage(app, record, "home", bundle="data", threshold="exhausted", action="throttle")
    await drain()
    events = [e for e in await service.events_after(0, 100) if e.type.startswith("usage.")]
    assert [(e.type, e.payload["threshold"], e.payload["session_id"]) for e in events] == [
        ("usage.threshold", "90", "s-1"), ("usage.exhausted", "exhausted", "s-1")]
    await until(d, lambda: len(smtp.inbox.raw) == 1)
    assert subjects(smtp) == [("eli@x.example", "You have used 90% of your data allowance")]


async def test_session_events_are_written_only_when_a_hook_takes_them(service: Service) -> None:
    from types import SimpleNamespace

    from jetd.hooks.emit import drain, emit_session_started
    from tests.hooks.conftest import hooks_settings

    a = await service.create_account(OPERATOR, NewAccount("fay"))
    record = SimpleNamespace(account=str(a.id), realm="default", user="fay", nas="10.0.0.1",
                             session_id="s-9", now=1_780_000_000)

    def app(hooks: list[dict[str, Any]], **kw: Any) -> Any:
        return SimpleNamespace(services={"provisioning": service},
                               settings=SimpleNamespace(hooks=hooks_settings(hooks, **kw)))

    async def started() -> list[Any]:
        return [e for e in await service.events_after(0, 100) if e.type == "session.started"]

    # only the built-ins, all on: none of them reads session events
    emit_session_started(app([], builtin={}), record)
    await drain()
    assert await started() == []
    emit_session_started(app([{"name": "crm", "action": "exec", "events": ["session.*"], "argv": ["true"]}]),
                         record)
    await drain()
    assert [(e.payload["user"], e.payload["session_id"]) for e in await started()] == [("fay", "s-9")]
