"""The /v1 HTTP API: auth, realm isolation, 422 with field paths, pagination, Idempotency-Key."""

from __future__ import annotations

from provisioning.models import OPERATOR
from tests.provisioning.conftest import ApiClient


async def _realm_token(api: ApiClient, realm: str) -> str:
    status, _ = await api.call("POST", "/v1/realms", json={"name": realm, "domains": [f"{realm}.example"]})
    assert status == 201
    _, plaintext = await api.service.create_token(OPERATOR, f"{realm} admin", realm=realm)
    return plaintext


async def test_needs_a_token(api: ApiClient) -> None:
    async with api.client.get("/v1/accounts") as resp:
        assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    status, body = await api.call("GET", "/v1/accounts", token="jet_wrong")
    assert status == 401 and body["error"]["code"] == "unauthorized"


async def test_account_crud_and_actions(api: ApiClient) -> None:
    status, a = await api.call("POST", "/v1/accounts", json={
        "username": "alice", "password": "pw", "plan": "home", "email": "a@example.net"})
    assert status == 201 and a["realm"] == "default" and a["credentials"] == {
        "pap": True, "mschap": True, "chap": False}
    assert "password" not in a and "pw" not in str(a)
    aid = a["id"]
    assert (await api.call("GET", f"/v1/accounts/{aid}"))[1]["username"] == "alice"
    status, a = await api.call("PATCH", f"/v1/accounts/{aid}", json={"simultaneous_use": 2, "pool": "p1"})
    assert status == 200 and a["simultaneous_use"] == 2
    assert (await api.call("POST", f"/v1/accounts/{aid}/suspend", json={"reason": "test"}))[1][
        "status"] == "suspended"
    assert (await api.call("POST", f"/v1/accounts/{aid}/resume"))[1]["status"] == "active"
    assert (await api.call("POST", f"/v1/accounts/{aid}/password", json={"password": "new"}))[0] == 200
    status, sub = await api.call("POST", f"/v1/accounts/{aid}/subscriptions",
                                 json={"plan": "pro", "effective": "2026-07-01"})
    assert status == 201 and sub["start_date"] == "2026-07-01"
    _, subs = await api.call("GET", f"/v1/accounts/{aid}/subscriptions")
    assert [(s["plan"], s["end_date"]) for s in subs["items"]] == [("home", "2026-07-01"), ("pro", None)]
    for kind, amount, written in (("charges", "5.50", "5.50"), ("payments", "20", "20.00"),
                                  ("topups", "0.1", "0.10")):
        status, entry = await api.call("POST", f"/v1/accounts/{aid}/{kind}", json={"amount": amount})
        assert status == 201 and entry["amount"] == written
    _, bal = await api.call("GET", f"/v1/accounts/{aid}/balances")
    assert bal["balance"] == "14.60" and bal["currency"] == "EUR"
    _, ov = await api.call("GET", f"/v1/accounts/{aid}/overview")
    assert ov["plan"] == "home" and ov["usage"]["period_start"] == "2026-06-01"
    status, closed = await api.call("DELETE", f"/v1/accounts/{aid}")
    assert status == 200 and closed["status"] == "closed"
    status, _body = await api.call("POST", f"/v1/accounts/{aid}/resume")
    assert status == 409


async def test_bad_input_is_422_with_the_field_path(api: ApiClient) -> None:
    status, body = await api.call("POST", "/v1/accounts", json={"username": "bob", "cycle_day": 40})
    assert status == 422 and body["error"]["fields"][0]["path"] == "body.cycle_day"
    status, body = await api.call("POST", "/v1/accounts", json={"username": "bob", "plan": "nosuch"})
    assert status == 422 and body["error"]["fields"][0]["path"] == "body.plan"
    status, body = await api.call("POST", "/v1/accounts", json={"username": "bob", "static_ip": "1.2.3"})
    assert status == 422 and body["error"]["fields"][0]["path"] == "body.static_ip"
    status, body = await api.call("POST", "/v1/realms", json={"name": "r", "colour_primary": "red"})
    assert status == 422 and body["error"]["fields"][0]["path"] == "body.colour_primary"
    status, body = await api.call("GET", "/v1/accounts", params={"limit": "0"})
    assert status == 422 and body["error"]["fields"][0]["path"] == "query.limit"
    status, body = await api.call("GET", "/v1/accounts", params={"cursor": "x"})
    assert status == 422 and body["error"]["fields"][0]["path"] == "query.cursor"
    async with api.client.post("/v1/accounts", data=b"{not json",
                               headers={"Authorization": f"Bearer {api.operator}"}) as resp:
        assert resp.status == 422 and (await resp.json())["error"]["fields"][0]["path"] == "body"
    async with api.client.post("/v1/accounts", data='{"username": "\\ud800"}',
                               headers={"Authorization": f"Bearer {api.operator}"}) as resp:
        assert resp.status == 422
    assert (await api.call("GET", "/v1/accounts/99999999999999999999"))[0] == 404


async def test_pagination(api: ApiClient) -> None:
    for i in range(5):
        assert (await api.call("POST", "/v1/accounts", json={"username": f"p{i}"}))[0] == 201
    seen, cursor = [], None
    while True:
        _, page = await api.call("GET", "/v1/accounts", params={"limit": 2, **({"cursor": cursor} if cursor
                                                                               else {})})
        seen += [a["username"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"p{i}" for i in range(5)]


async def test_idempotency_key_replays_the_first_response(api: ApiClient) -> None:
    _, a = await api.call("POST", "/v1/accounts", json={"username": "ida"})
    path = f"/v1/accounts/{a['id']}/payments"
    hdr = {"Idempotency-Key": "pay-1"}
    s1, first = await api.call("POST", path, json={"amount": "10"}, headers=hdr)
    s2, second = await api.call("POST", path, json={"amount": "10"}, headers=hdr)
    assert s1 == s2 == 201 and first == second
    _, bal = await api.call("GET", f"/v1/accounts/{a['id']}/balances")
    assert bal["payments"] == "10.00"
    status, _body = await api.call("POST", path, json={"amount": "11"}, headers=hdr)
    assert status == 409
    # a 4xx is replayed too, and another key is another request
    k2 = {"Idempotency-Key": "k2"}
    s3, _ = await api.call("POST", "/v1/accounts", json={"username": "ida"}, headers=k2)
    s4, _ = await api.call("POST", "/v1/accounts", json={"username": "ida"}, headers=k2)
    assert s3 == s4 == 409
    status, _ = await api.call("POST", path, json={"amount": "10"}, headers={"Idempotency-Key": "pay-2"})
    assert status == 201
    _, bal = await api.call("GET", f"/v1/accounts/{a['id']}/balances")
    assert bal["payments"] == "20.00"


async def test_realm_isolation(api: ApiClient) -> None:
    isp2 = await _realm_token(api, "isp2")
    isp3 = await _realm_token(api, "isp3")
    s, mine = await api.call("POST", "/v1/accounts", isp2, json={"username": "u", "plan": "basic"})
    assert s == 201 and mine["realm"] == "isp2"
    s, theirs = await api.call("POST", "/v1/accounts", isp3, json={"username": "u", "plan": "basic"})
    assert s == 201 and theirs["realm"] == "isp3"
    await api.call("POST", f"/v1/accounts/{theirs['id']}/payments", isp3, json={"amount": "3"})
    t = theirs["id"]
    # read, change, delete: all 404
    for method, path, body in [
        ("GET", f"/v1/accounts/{t}", None), ("PATCH", f"/v1/accounts/{t}", {"pool": "x"}),
        ("DELETE", f"/v1/accounts/{t}", None), ("POST", f"/v1/accounts/{t}/suspend", {}),
        ("POST", f"/v1/accounts/{t}/password", {"password": "x"}),
        ("GET", f"/v1/accounts/{t}/subscriptions", None),
        ("POST", f"/v1/accounts/{t}/subscriptions", {"plan": "basic"}),
        ("GET", f"/v1/accounts/{t}/payments", None), ("POST", f"/v1/accounts/{t}/payments", {"amount": "1"}),
        ("GET", f"/v1/accounts/{t}/balances", None), ("GET", f"/v1/accounts/{t}/overview", None),
        ("GET", "/v1/realms/isp3", None), ("PATCH", "/v1/realms/isp3", {"footer": "x"}),
    ]:
        status, _ = await api.call(method, path, isp2, json=body)
        assert status == 404, (method, path, status)
    # cannot create in another realm or create realms
    assert (await api.call("POST", "/v1/accounts", isp2, json={"username": "z", "realm": "isp3"}))[0] == 404
    assert (await api.call("POST", "/v1/realms", isp2, json={"name": "isp9"}))[0] == 403
    # lists are filtered
    _, page = await api.call("GET", "/v1/accounts", isp2)
    assert [a["id"] for a in page["items"]] == [mine["id"]]
    _, page = await api.call("GET", "/v1/accounts", isp2, params={"realm": "isp3"})
    assert page["items"] == []
    _, realms = await api.call("GET", "/v1/realms", isp2)
    assert [r["name"] for r in realms["items"]] == ["isp2"]
    _, audit = await api.call("GET", "/v1/audit", isp2, params={"limit": 1000})
    assert audit["items"] and {e["realm"] for e in audit["items"]} == {"isp2"}
    query = {"object_type": "account", "object_id": str(t)}
    _, audit = await api.call("GET", "/v1/audit", isp2, params=query)
    assert audit["items"] == []
    # the operator sees both, and the other realm's account is unchanged
    _, page = await api.call("GET", "/v1/accounts")
    assert {mine["id"], t} <= {a["id"] for a in page["items"]}
    _, still = await api.call("GET", f"/v1/accounts/{t}")
    assert still["status"] == "active" and still["pool"] is None


async def test_openapi_document(api: ApiClient) -> None:
    async with api.client.get("/v1/openapi.json") as resp:
        doc = await resp.json()
    assert doc["openapi"].startswith("3.1") and "/v1/accounts/{id}/payments" in doc["paths"]


async def test_idempotency_keys_expire_after_a_day(api: ApiClient) -> None:
    from tests.provisioning.conftest import Clock

    clock = api.service.clock
    assert isinstance(clock, Clock)
    hdr = {"Idempotency-Key": "once"}
    assert (await api.call("POST", "/v1/accounts", json={"username": "k1"}, headers=hdr))[0] == 201
    assert (await api.call("POST", "/v1/accounts", json={"username": "k2"}, headers=hdr))[0] == 409
    clock.advance(hours=25)
    assert (await api.call("POST", "/v1/accounts", json={"username": "k2"}, headers=hdr))[0] == 201


async def test_an_accounts_own_invoice_delivery(api: ApiClient) -> None:
    status, a = await api.call("POST", "/v1/accounts", json={"username": "paper", "invoice_email": False})
    assert status == 201 and a["invoice_email"] is False
    status, a = await api.call("PATCH", f"/v1/accounts/{a['id']}", json={"invoice_email": None})
    assert status == 200 and a["invoice_email"] is None  # as the realm says again
    status, body = await api.call("PATCH", f"/v1/accounts/{a['id']}", json={"invoice_email": "sometimes"})
    assert status == 422 and body["error"]["fields"][0]["path"] == "body.invoice_email"
