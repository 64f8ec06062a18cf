"""Control commands for invoices: list, show, pdf, resend.

They read the invoicing tables in jetd's database (the same one jet-invoicer writes).
jetd never renders or sends: ``invoice.pdf`` returns the PDF the invoicer stored when it
delivered the invoice, and ``invoice.resend`` queues the invoice again — the running
jet-invoicer sends it within seconds, with a new Message-ID.
"""

from __future__ import annotations

import base64
from typing import Any

from invoicing import store as istore
from invoicing.receipts import list_receipts, receipt_pdf
from jetd.app import App
from jetd.commands.provisioning import _account_id, _service, provisioning_command
from jetd.control import Args
from jetd.errors import ControlError
from provisioning.base import utc_now


async def _get(app: App, number: str) -> istore.StoredInvoice:
    async with _service(app).engine.connect() as conn:
        found = await istore.get_invoice(conn, number)
    if found is None:
        raise ControlError(f"no invoice {number}")
    return found


@provisioning_command("invoice.list")
async def invoice_list(app: App, args: Args) -> list[dict[str, Any]]:
    """Invoices, oldest first (username, realm, undelivered, limit)."""
    account = await _account_id(app, args) if args.get_str("username") else None
    async with _service(app).engine.connect() as conn:
        return await istore.list_invoices(conn, account_id=account, realm=args.get_str("realm"),
                                          undelivered=args.get_bool("undelivered"),
                                          limit=args.get_int("limit", 1000) or 1000)  # fmt: skip


@provisioning_command("invoice.show")
async def invoice_show(app: App, args: Args) -> dict[str, Any]:
    """One invoice with its lines and totals."""
    return istore.invoice_detail(await _get(app, args.need_str("number")))


@provisioning_command("invoice.pdf")
async def invoice_pdf(app: App, args: Args) -> dict[str, Any]:
    """The invoice's PDF (base64), as rendered and sent by jet-invoicer."""
    summary, inv, pdf = await _get(app, args.need_str("number"))
    status = summary["delivery"]["status"]
    return _pdf_result("invoice", inv.number, inv.filename, pdf, f" (delivery {status})")


@provisioning_command("invoice.resend")
async def invoice_resend(app: App, args: Args) -> dict[str, Any]:
    """Queue an invoice to be delivered again (jet-invoicer sends it)."""
    number = args.need_str("number")
    async with _service(app).engine.begin() as conn:
        if not await istore.requeue(conn, number, utc_now()):
            raise ControlError(f"no invoice {number}")
    return (await _get(app, number))[0]


@provisioning_command("receipt.list")
async def receipt_list(app: App, args: Args) -> list[dict[str, Any]]:
    """Receipts (one per payment), oldest first (username, realm, limit)."""
    account = await _account_id(app, args) if args.get_str("username") else None
    async with _service(app).engine.connect() as conn:
        return await list_receipts(conn, account_id=account, realm=args.get_str("realm"),
                                   limit=args.get_int("limit", 1000) or 1000)


@provisioning_command("receipt.pdf")
async def receipt_pdf_command(app: App, args: Args) -> dict[str, Any]:
    """A receipt's PDF (base64), as rendered and sent by jet-invoicer."""
    number = args.need_str("number")
    async with _service(app).engine.connect() as conn:
        found = await receipt_pdf(conn, number)
    if found is None:
        raise ControlError(f"no receipt {number}")
    _, filename, pdf = found
    return _pdf_result("receipt", number, filename, pdf)


def _pdf_result(what: str, number: str, filename: str, pdf: bytes | None, why: str = "") -> dict[str, Any]:
    """A stored PDF as the reply carries it (base64), or why there is none yet."""
    if pdf is None:
        raise ControlError(f"{what} {number} has no PDF yet: jet-invoicer renders it when it "
                           f"delivers it{why}")
    return {"number": number, "filename": filename, "pdf": base64.b64encode(pdf).decode()}
