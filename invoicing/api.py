"""/v1/invoices: the invoices jet-invoicer made, for operators and realm administrators.

    GET  /v1/invoices?account_id=&undelivered=&limit=   list, oldest first
    GET  /v1/invoices/{number}                          one invoice with its lines
    GET  /v1/invoices/{number}/pdf                      the PDF as sent (application/pdf)
    POST /v1/invoices/{number}/resend                   deliver it again (jet-invoicer sends it)
    GET  /v1/receipts?account_id=&limit=                receipts, oldest first
    GET  /v1/receipts/{number}/pdf                      the receipt's PDF as sent

Mounted into jetd's provisioning API with the same tokens: a realm token sees only its
realm's invoices, and another realm's answer 404, like every other object.
"""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, Field

from invoicing import store as istore
from invoicing.receipts import list_receipts, receipt_pdf
from provisioning.api.app import ApiError, Call, Route
from provisioning.api.schemas import In, Out
from provisioning.base import utc_now

NUMBER = {"number": "text"}
PDF = "application/pdf"


class Delivery(Out):
    status: str
    channel: str | None
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    detail: Any = None


class InvoiceOut(Out):
    number: str
    realm: str
    account_id: int
    username: str
    period_start: str
    period_end: str
    issue_date: str
    due_date: str
    currency: str
    subtotal: str
    tax: str
    total: str
    credit_in: str
    credit_forward: str
    delivery: Delivery


class InvoiceList(Out):
    items: list[InvoiceOut]


class InvoiceLine(Out):
    group: str
    description: str
    quantity: str
    unit: str
    unit_price: str | None
    amount: str
    tax_exempt: bool


class InvoiceDetail(InvoiceOut):
    lines: list[InvoiceLine]
    tax_name: str | None
    tax_rate: str | None
    credit_applied: str
    email: str | None
    pdf: bool


class InvoiceQuery(In):
    account_id: Annotated[int, Field(ge=1)] | None = None
    undelivered: bool = False
    limit: Annotated[int, Field(ge=1, le=1000)] = 1000


async def _visible(c: Call, number: str) -> istore.StoredInvoice:
    async with c.service.engine.connect() as conn:
        found = await istore.get_invoice(conn, number)
    if found is None or (c.actor.realm is not None and found[0]["realm"] != c.actor.realm):
        raise ApiError(404, "not_found", f"no such invoice: {number}")
    return found


async def list_invoices(c: Call) -> tuple[int, BaseModel]:
    q = c.query
    if q.account_id is not None:
        await c.service.get_account(c.actor, q.account_id)  # 404 for another realm's account
    async with c.service.engine.connect() as conn:
        items = await istore.list_invoices(conn, account_id=q.account_id, realm=c.actor.realm,
                                           undelivered=q.undelivered, limit=q.limit)
    return 200, InvoiceList(items=[InvoiceOut.model_validate(i) for i in items])


async def show_invoice(c: Call) -> tuple[int, BaseModel]:
    return 200, InvoiceDetail.model_validate(istore.invoice_detail(await _visible(c, c.path["number"])))


async def invoice_pdf(c: Call) -> tuple[int, web.Response]:
    summary, inv, pdf = await _visible(c, c.path["number"])
    return 200, _pdf_response(f"invoice {inv.number}", inv.filename, pdf,
                              f" (delivery {summary['delivery']['status']})")


def _pdf_response(what: str, filename: str, pdf: bytes | None, why: str = "") -> web.Response:
    """A stored PDF as the answer, or 409 while jet-invoicer has not rendered it yet."""
    if pdf is None:
        raise ApiError(409, "conflict",
                       f"{what} has no PDF yet: jet-invoicer renders it when it delivers it{why}")
    return web.Response(body=pdf, content_type=PDF,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


async def resend_invoice(c: Call) -> tuple[int, BaseModel]:
    number = c.path["number"]
    await _visible(c, number)
    async with c.service.engine.begin() as conn:
        await istore.requeue(conn, number, utc_now())
    summary, _, _ = await _visible(c, number)
    return 200, InvoiceOut.model_validate(summary)


class ReceiptOut(Out):
    number: str
    realm: str
    account_id: int
    amount: str
    currency: str
    payment_date: str
    delivery: Delivery


class ReceiptList(Out):
    items: list[ReceiptOut]


class ReceiptQuery(In):
    account_id: Annotated[int, Field(ge=1)] | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 1000


async def list_receipts_route(c: Call) -> tuple[int, BaseModel]:
    q = c.query
    if q.account_id is not None:
        await c.service.get_account(c.actor, q.account_id)  # 404 for another realm's account
    async with c.service.engine.connect() as conn:
        items = await list_receipts(conn, account_id=q.account_id, realm=c.actor.realm, limit=q.limit)
    return 200, ReceiptList(items=[ReceiptOut.model_validate(i) for i in items])


async def receipt_pdf_route(c: Call) -> tuple[int, web.Response]:
    number = c.path["number"]
    async with c.service.engine.connect() as conn:
        found = await receipt_pdf(conn, number)
    if found is None or (c.actor.realm is not None and found[0] != c.actor.realm):
        raise ApiError(404, "not_found", f"no such receipt: {number}")
    _, filename, pdf = found
    return 200, _pdf_response(f"receipt {number}", filename, pdf)


INVOICE_ROUTES: list[Route] = [
    Route("GET", "/invoices", list_invoices, "List invoices (oldest first)", InvoiceList, query=InvoiceQuery,
          tag="invoices"),
    Route("GET", "/invoices/{number}", show_invoice, "Show an invoice with its lines", InvoiceDetail,
          tag="invoices", path_types=NUMBER),
    Route("GET", "/invoices/{number}/pdf", invoice_pdf, "The invoice's PDF as sent (application/pdf)", None,
          tag="invoices", path_types=NUMBER, media_type=PDF),
    Route("POST", "/invoices/{number}/resend", resend_invoice, "Deliver the invoice again", InvoiceOut,
          tag="invoices", path_types=NUMBER),
    Route("GET", "/receipts", list_receipts_route, "List receipts (one per payment, oldest first)",
          ReceiptList, query=ReceiptQuery, tag="invoices"),
    Route("GET", "/receipts/{number}/pdf", receipt_pdf_route, "The receipt's PDF as sent (application/pdf)",
          None, tag="invoices", path_types=NUMBER, media_type=PDF),
]
