"""/v1/invoices: list, show, pdf, resend; a realm token sees only its realm's invoices."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from invoicing import store as istore
from invoicing.api import INVOICE_ROUTES
from invoicing.run import billing_run
from invoicing.tables import invoices
from provisioning.api import mount_api
from provisioning.api.routes import ROUTES
from provisioning.models import OPERATOR, NewAccount
from provisioning.service import Service
from rating import load_catalog
from tests.invoicing.conftest import billing_now
from tests.invoicing.worker_fixtures import PRICEBOOK, day

CATALOG = load_catalog([PRICEBOOK, PRICEBOOK.parent / "pricebook.visp.example.toml"])


now = billing_now


@pytest.fixture
async def client(service: Service) -> AsyncIterator[TestClient[Any, Any]]:
    app = web.Application()
    mount_api(service, [*ROUTES, *INVOICE_ROUTES])(app)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()


async def _get(client: TestClient[Any, Any], token: str, path: str, **params: str) -> tuple[int, Any]:
    async with client.get(path, params=params, headers={"Authorization": f"Bearer {token}"}) as resp:
        body = await resp.json() if resp.content_type == "application/json" else await resp.read()
        return resp.status, body


async def test_invoices_over_http_scoped_by_realm(service: Service, client: TestClient[Any, Any]) -> None:
    home = await service.create_account(OPERATOR, NewAccount(
        "hana", plan="Fibre 300", plan_start=day("2026-06-16"), email="hana@example.net"))
    await service.create_realm(OPERATOR, "visp.example", currency="NZD", tax_name="GST", tax_rate="0.15")
    visp = await service.create_account(OPERATOR, NewAccount(
        "vera", realm="visp.example", plan="VISP Home 50", plan_start=day("2026-06-01")))
    await billing_run(service.engine, CATALOG, date(2026, 7, 1), now=now)
    _, operator = await service.create_token(OPERATOR, "operator")
    _, visp_admin = await service.create_token(OPERATOR, "visp admin", realm="visp.example")

    status, everything = await _get(client, operator, "/v1/invoices")
    assert status == 200
    numbers = {i["username"]: i["number"] for i in everything["items"]}
    assert set(numbers) == {"hana", "vera"}
    status, theirs = await _get(client, visp_admin, "/v1/invoices")
    assert {i["username"] for i in theirs["items"]} == {"vera"} and len(theirs["items"]) == 2
    assert (await _get(client, visp_admin, f"/v1/invoices/{numbers['hana']}"))[0] == 404  # another realm's
    assert (await _get(client, visp_admin, "/v1/invoices", account_id=str(home.id)))[0] == 404
    status, listed = await _get(client, operator, "/v1/invoices", account_id=str(visp.id))
    assert [i["username"] for i in listed["items"]] == ["vera", "vera"]

    first = next(i for i in everything["items"] if i["username"] == "hana")["number"]
    status, shown = await _get(client, operator, f"/v1/invoices/{first}")
    assert status == 200
    assert (shown["subtotal"], shown["tax"], shown["total"]) == ("129.00", "19.35", "148.35")
    assert [line["amount"] for line in shown["lines"]] == ["30.00", "99.00"] and shown["pdf"] is False

    status, body = await _get(client, operator, f"/v1/invoices/{first}/pdf")
    assert status == 409 and "no PDF yet" in body["error"]["message"]
    async with service.engine.begin() as conn:
        await istore.store_pdf(conn, invoices, await _invoice_id(conn, first), b"%PDF-1.4 test")
    auth = {"Authorization": f"Bearer {operator}"}
    async with client.get(f"/v1/invoices/{first}/pdf", headers=auth) as resp:
        assert resp.status == 200 and resp.content_type == "application/pdf"
        assert await resp.read() == b"%PDF-1.4 test" and first in resp.headers["Content-Disposition"]

    async with client.post(f"/v1/invoices/{first}/resend", headers=auth) as resp:
        assert resp.status == 200 and (await resp.json())["delivery"]["status"] == "pending"
    async with client.post(f"/v1/invoices/{first}/resend",
                           headers={"Authorization": f"Bearer {visp_admin}"}) as resp:
        assert resp.status == 404

    status, body = await _get(client, operator, "/v1/invoices", limit="0")
    assert status == 422 and body["error"]["fields"][0]["path"] == "query.limit"
    assert (await _get(client, operator, "/v1/invoices/NO-SUCH-1"))[0] == 404
    _, document = await _get(client, operator, "/v1/openapi.json")
    pdf_get = document["paths"]["/v1/invoices/{number}/pdf"]["get"]
    assert "application/pdf" in pdf_get["responses"]["200"]["content"]


async def _invoice_id(conn: Any, number: str) -> int:
    return int((await conn.execute(select(invoices.c.id).where(invoices.c.number == number))).scalar_one())


async def test_receipts_over_http_scoped_by_realm(service: Service, client: TestClient[Any, Any]) -> None:
    from invoicing.receipts import issue_receipts

    hana = await service.create_account(OPERATOR, NewAccount(
        "hana", plan="Fibre 300", plan_start=day("2026-06-16"), email="hana@example.net"))
    await service.create_realm(OPERATOR, "visp.example", currency="NZD", tax_name="GST", tax_rate="0.15")
    await billing_run(service.engine, CATALOG, date(2026, 7, 1), now=now)
    await service.payment(OPERATOR, hana.id, "148.35", reference="bank-1")
    await issue_receipts(service.engine, now=now)
    _, operator = await service.create_token(OPERATOR, "operator")
    _, visp_admin = await service.create_token(OPERATOR, "visp admin", realm="visp.example")

    status, listed = await _get(client, operator, "/v1/receipts", account_id=str(hana.id))
    assert status == 200
    assert [(r["number"], r["amount"], r["delivery"]["status"]) for r in listed["items"]] == [
        ("RCT-default-2026-000001", "148.35", "pending")]
    assert (await _get(client, visp_admin, "/v1/receipts"))[1]["items"] == []  # another realm's
    assert (await _get(client, visp_admin, "/v1/receipts/RCT-default-2026-000001/pdf"))[0] == 404
    status, body = await _get(client, operator, "/v1/receipts/RCT-default-2026-000001/pdf")
    assert status == 409 and "no PDF yet" in body["error"]["message"]
    from sqlalchemy import update

    from invoicing.tables import receipts

    async with service.engine.begin() as conn:
        await conn.execute(update(receipts).values(pdf=b"%PDF-1.4 receipt"))
    async with client.get("/v1/receipts/RCT-default-2026-000001/pdf",
                          headers={"Authorization": f"Bearer {operator}"}) as resp:
        assert resp.status == 200 and resp.content_type == "application/pdf"
        assert await resp.read() == b"%PDF-1.4 receipt"
