"""Every /v1 route: realms, accounts, subscriptions, ledger, balances, usage, tokens, audit."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from provisioning.api import schemas as s
from provisioning.api.app import Call, Route
from provisioning.models import DEFAULT_REALM, NewAccount

ID = {"id": "int"}


def _out(model: type[BaseModel], value: Any) -> Any:
    return model.model_validate(value.to_dict() if hasattr(value, "to_dict") else value)


# --- realms ---------------------------------------------------------------------------------

async def list_realms(c: Call) -> tuple[int, BaseModel]:
    page = await c.service.list_realms(c.actor, limit=c.query.limit, cursor=c.query.cursor)
    return 200, s.RealmPage(items=[_out(s.RealmOut, r) for r in page.items], next_cursor=page.next_cursor)


async def create_realm(c: Call) -> tuple[int, BaseModel]:
    fields = c.body.model_dump(exclude_unset=True)
    realm = await c.service.create_realm(c.actor, fields.pop("name"), **fields)
    return 201, _out(s.RealmOut, realm)


async def get_realm(c: Call) -> tuple[int, BaseModel]:
    return 200, _out(s.RealmOut, await c.service.get_realm(c.actor, c.path["name"]))


async def update_realm(c: Call) -> tuple[int, BaseModel]:
    realm = await c.service.update_realm(c.actor, c.path["name"], **c.body.model_dump(exclude_unset=True))
    return 200, _out(s.RealmOut, realm)


# --- accounts -------------------------------------------------------------------------------

async def list_accounts(c: Call) -> tuple[int, BaseModel]:
    q = c.query
    page = await c.service.list_accounts(c.actor, realm=q.realm, status=q.status, username=q.username,
                                         limit=q.limit, cursor=q.cursor)
    return 200, s.AccountPage(items=[_out(s.AccountOut, a) for a in page.items], next_cursor=page.next_cursor)


async def create_account(c: Call) -> tuple[int, BaseModel]:
    b = c.body.model_dump(exclude_unset=True)
    b["realm"] = b.get("realm") or c.actor.realm or DEFAULT_REALM
    for key in ("cycle_day", "reply"):
        if b.get(key) is None:
            b.pop(key, None)
    account = await c.service.create_account(c.actor, NewAccount(**b))
    return 201, _out(s.AccountOut, account)


async def get_account(c: Call) -> tuple[int, BaseModel]:
    return 200, _out(s.AccountOut, await c.service.get_account(c.actor, c.path["id"]))


async def update_account(c: Call) -> tuple[int, BaseModel]:
    changes = c.body.model_dump(exclude_unset=True)
    for key in ("cycle_day", "reply"):
        if key in changes and changes[key] is None:
            changes.pop(key)
    account = await c.service.update_account(c.actor, c.path["id"], **changes)
    return 200, _out(s.AccountOut, account)


async def delete_account(c: Call) -> tuple[int, BaseModel]:
    return 200, _out(s.AccountOut, await c.service.delete_account(c.actor, c.path["id"]))


async def suspend(c: Call) -> tuple[int, BaseModel]:
    return 200, _out(s.AccountOut, await c.service.suspend(c.actor, c.path["id"], c.body.reason))


async def resume(c: Call) -> tuple[int, BaseModel]:
    return 200, _out(s.AccountOut, await c.service.resume(c.actor, c.path["id"]))


async def password(c: Call) -> tuple[int, BaseModel]:
    return 200, _out(s.AccountOut, await c.service.set_password(c.actor, c.path["id"], c.body.password))


async def overview(c: Call) -> tuple[int, BaseModel]:
    return 200, s.Overview.model_validate(await c.service.overview(c.actor, c.path["id"]))


# --- subscriptions, ledger, balances, usage -------------------------------------------------

async def list_subscriptions(c: Call) -> tuple[int, BaseModel]:
    subs = await c.service.subscriptions(c.actor, c.path["id"])
    return 200, s.SubscriptionList(items=[_out(s.SubscriptionOut, x) for x in subs])


async def change_plan(c: Call) -> tuple[int, BaseModel]:
    sub = await c.service.change_plan(c.actor, c.path["id"], c.body.plan, c.body.effective)
    return 201, _out(s.SubscriptionOut, sub)


def ledger_routes(kind: str, plural: str) -> list[Route]:
    async def listing(c: Call) -> tuple[int, BaseModel]:
        page = await c.service.ledger(c.actor, c.path["id"], kind=kind, limit=c.query.limit,
                                      cursor=c.query.cursor)
        items = [_out(s.LedgerOut, e) for e in page.items]
        return 200, s.LedgerPage(items=items, next_cursor=page.next_cursor)

    async def create(c: Call) -> tuple[int, BaseModel]:
        b = c.body
        entry = await c.service.add_ledger(c.actor, c.path["id"], kind, b.amount, currency=b.currency,
                                           description=b.description, reference=b.reference,
                                           entry_date=b.entry_date)
        return 201, _out(s.LedgerOut, entry)

    path = f"/accounts/{{id}}/{plural}"
    return [
        Route("GET", path, listing, f"List the account's {plural}", s.LedgerPage, query=s.LedgerQuery,
              tag="ledger", path_types=ID),
        Route("POST", path, create, f"Record a {kind.replace('topup', 'top-up')}", s.LedgerOut, 201,
              body=s.LedgerCreate, tag="ledger", path_types=ID),
    ]


async def balances(c: Call) -> tuple[int, BaseModel]:
    return 200, s.Balances.model_validate(await c.service.balances(c.actor, c.path["id"]))


async def usage(c: Call) -> tuple[int, BaseModel]:
    account = await c.service.get_account(c.actor, c.path["id"])
    return 200, s.Usage.model_validate(await c.service.usage(c.actor, account))


# --- tokens and audit -----------------------------------------------------------------------

async def create_token(c: Call) -> tuple[int, BaseModel]:
    token, plaintext = await c.service.create_token(c.actor, c.body.name, c.body.realm)
    return 201, s.TokenCreated.model_validate({**token.to_dict(), "token": plaintext})


async def list_tokens(c: Call) -> tuple[int, BaseModel]:
    return 200, s.TokenList(items=[_out(s.TokenOut, t) for t in await c.service.list_tokens(c.actor)])


async def revoke_token(c: Call) -> tuple[int, BaseModel]:
    return 200, _out(s.TokenOut, await c.service.revoke_token(c.actor, c.path["id"]))


async def audit_log(c: Call) -> tuple[int, BaseModel]:
    q = c.query
    page = await c.service.audit_log(c.actor, object_type=q.object_type, object_id=q.object_id,
                                     limit=q.limit, cursor=q.cursor)
    return 200, s.AuditPage(items=[_out(s.AuditOut, e) for e in page.items], next_cursor=page.next_cursor)


NAME = {"name": "name"}
ROUTES: list[Route] = [
    Route("GET", "/realms", list_realms, "List realms", s.RealmPage, query=s.PageQuery, tag="realms"),
    Route("POST", "/realms", create_realm, "Create a realm (operator)", s.RealmOut, 201, body=s.RealmCreate,
          tag="realms"),
    Route("GET", "/realms/{name}", get_realm, "Show a realm", s.RealmOut, tag="realms", path_types=NAME),
    Route("PATCH", "/realms/{name}", update_realm, "Change a realm", s.RealmOut, body=s.RealmUpdate,
          tag="realms", path_types=NAME),
    Route("GET", "/accounts", list_accounts, "List accounts", s.AccountPage, query=s.AccountQuery),
    Route("POST", "/accounts", create_account, "Create an account", s.AccountOut, 201, body=s.AccountCreate),
    Route("GET", "/accounts/{id}", get_account, "Show an account", s.AccountOut, path_types=ID),
    Route("PATCH", "/accounts/{id}", update_account, "Change an account's details", s.AccountOut,
          body=s.AccountUpdate, path_types=ID),
    Route("DELETE", "/accounts/{id}", delete_account, "Close an account (history is kept)", s.AccountOut,
          path_types=ID),
    Route("POST", "/accounts/{id}/suspend", suspend, "Suspend an active account", s.AccountOut,
          body=s.Suspend, path_types=ID),
    Route("POST", "/accounts/{id}/resume", resume, "Resume a suspended account", s.AccountOut, path_types=ID),
    Route("POST", "/accounts/{id}/password", password, "Set the password", s.AccountOut,
          body=s.PasswordChange, path_types=ID),
    Route("GET", "/accounts/{id}/overview", overview, "Account, plan, balances and usage", s.Overview,
          path_types=ID),
    Route("GET", "/accounts/{id}/subscriptions", list_subscriptions, "List subscriptions",
          s.SubscriptionList, tag="subscriptions", path_types=ID),
    Route("POST", "/accounts/{id}/subscriptions", change_plan, "Change plan from a date", s.SubscriptionOut,
          201, body=s.PlanChange, tag="subscriptions", path_types=ID),
    *ledger_routes("charge", "charges"),
    *ledger_routes("payment", "payments"),
    *ledger_routes("topup", "topups"),
    Route("GET", "/accounts/{id}/balances", balances, "Balances", s.Balances, tag="ledger", path_types=ID),
    Route("GET", "/accounts/{id}/usage", usage, "Usage in the current period", s.Usage, tag="ledger",
          path_types=ID),
    Route("GET", "/tokens", list_tokens, "List API tokens", s.TokenList, tag="tokens"),
    Route("POST", "/tokens", create_token, "Create an API token", s.TokenCreated, 201, body=s.TokenCreate,
          tag="tokens"),
    Route("DELETE", "/tokens/{id}", revoke_token, "Revoke an API token", s.TokenOut, tag="tokens",
          path_types=ID),
    Route("GET", "/audit", audit_log, "Read the audit log", s.AuditPage, query=s.AuditQuery, tag="audit"),
]
