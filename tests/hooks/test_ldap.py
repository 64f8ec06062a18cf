"""Realm auth mode ldap against a real slapd (bind template, search-then-bind, pool,
directory down then back), and the ldap hook action (add, modify, delete; redelivery)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jetd.hooks.ldapauth import LdapUnavailable, close_pools, ldap_authenticate
from provisioning.models import OPERATOR, NewAccount
from provisioning.service import Service
from tests.hooks.conftest import MakeDispatcher, until
from tests.hooks.directory import ROOT_DN, ROOT_PW, SUFFIX, Slapd, slapd


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    with slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server
    close_pools()


def bind_mode(d: Slapd) -> dict[str, object]:
    return {"url": d.url, "bind_dn": f"uid={{user}},ou=people,{SUFFIX}", "timeout": 5}


def search_mode(d: Slapd) -> dict[str, object]:
    return {"url": d.url, "base_dn": f"ou=people,{SUFFIX}",
            "filter": "(&(objectClass=inetOrgPerson)(uid={user}))", "search_dn": ROOT_DN,
            "search_password": ROOT_PW, "timeout": 5}


async def test_bind_template(directory: Slapd) -> None:
    s = bind_mode(directory)
    assert await ldap_authenticate(s, "alice", "alice-pw")
    assert not await ldap_authenticate(s, "alice", "wrong")
    assert not await ldap_authenticate(s, "alice", "")  # never an unauthenticated bind
    assert not await ldap_authenticate(s, "nobody", "x")
    assert await ldap_authenticate(s, "bob+co", "bob-pw")  # escaped as an RDN value
    for _ in range(20):  # pooled connections are re-bound, not reopened
        assert await ldap_authenticate(s, "alice", "alice-pw")


async def test_search_then_bind(directory: Slapd) -> None:
    s = search_mode(directory)
    assert await ldap_authenticate(s, "alice", "alice-pw")
    assert not await ldap_authenticate(s, "alice", "bob-pw")
    assert not await ldap_authenticate(s, "*", "alice-pw")  # escaped as a filter value
    assert not await ldap_authenticate(s, "ghost", "x")


async def test_directory_down_then_back(directory: Slapd) -> None:
    s = bind_mode(directory)
    assert await ldap_authenticate(s, "alice", "alice-pw")
    directory.stop()
    try:
        with pytest.raises(LdapUnavailable):
            await ldap_authenticate(s, "alice", "alice-pw")
    finally:
        directory.start()
    assert await ldap_authenticate(s, "alice", "alice-pw")  # stale pooled connections replaced


async def test_ldap_hook_adds_modifies_deletes(directory: Slapd, service: Service,
                                               make_dispatcher: MakeDispatcher, tmp_path: Path) -> None:
    common = {"action": "ldap", "url": directory.url, "bind_dn": ROOT_DN, "password": ROOT_PW,
              "dn": f"uid=$account_username,ou=mail,{SUFFIX}"}
    add = {**common, "name": "ldap-add", "events": ["account.created"], "operation": "add",
           "attributes": {"objectClass": ["inetOrgPerson"], "uid": "$account_username",
                          "cn": "$account_contact_name", "sn": "$account_username", "mail": "$account_email"}}
    d = await make_dispatcher([
        add,
        {**common, "name": "ldap-mod", "events": ["account.updated"], "operation": "modify",
         "attributes": {"mail": "$account_email"}},
        {**common, "name": "ldap-del", "events": ["account.deleted"], "operation": "delete"},
    ])
    a = await service.create_account(OPERATOR, NewAccount("eve,x", email="eve@isp.example",
                                                          contact_name="Eve"))
    await until(d, lambda: "eve@isp.example" in directory.search(f"ou=mail,{SUFFIX}", "(uid=eve,x)"))
    await service.update_account(OPERATOR, a.id, email="eve2@isp.example")
    await until(d, lambda: "eve2@isp.example" in directory.search(f"ou=mail,{SUFFIX}", "(uid=eve,x)"))
    # Redelivering the add (at-least-once) converges instead of failing.
    from jetd.hooks.actions import Context, run_action
    from jetd.hooks.settings import HookSettings
    from provisioning.events import events_by_ids

    async with service.engine.connect() as conn:
        created = next(e for e in (await events_by_ids(conn, list(range(1, 50)))).values()
                       if e.type == "account.created" and e.account_id == a.id)
    again = HookSettings.model_validate({**add, "name": "again"})
    result = await run_action(again, created, Context())
    assert result.startswith("replaced")
    await service.delete_account(OPERATOR, a.id)
    await until(d, lambda: "uid: eve,x" not in directory.search(f"ou=mail,{SUFFIX}", "(uid=eve,x)"))


async def test_ldap_hook_directory_down_then_back(directory: Slapd, service: Service,
                                                  make_dispatcher: MakeDispatcher) -> None:
    d = await make_dispatcher([{
        "name": "ldap-add", "action": "ldap", "url": directory.url, "bind_dn": ROOT_DN, "password": ROOT_PW,
        "events": ["account.created"], "operation": "add", "timeout": 5,
        "dn": f"uid=$account_username,ou=mail,{SUFFIX}",
        "attributes": {"objectClass": ["inetOrgPerson"], "uid": "$account_username",
                       "cn": "$account_username", "sn": "$account_username"}}])
    directory.stop()
    try:
        for name in ("fay", "gus"):
            await service.create_account(OPERATOR, NewAccount(name))
        for _ in range(3):
            await d.run_once()
    finally:
        directory.start()
    await until(d, lambda: all(f"uid: {n}" in directory.search(f"ou=mail,{SUFFIX}", f"(uid={n})")
                               for n in ("fay", "gus")))
    from provisioning import events as ev

    async with service.engine.connect() as conn:
        rows = await ev.list_deliveries(conn, status=None, hook="ldap-add")
    assert {r.status for r in rows} == {"done"} and all(r.attempts >= 2 for r in rows)
