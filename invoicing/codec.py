"""Invoices and receipts to JSON-ready dicts and back (the stored ``document``), and stored
charges back to ``rating.Charge``. Decimals travel as strings, dates as ISO 8601."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from invoicing.model import (
    Branding,
    Buyer,
    Invoice,
    InvoiceLine,
    Receipt,
    Seller,
    SettledInvoice,
    Tax,
    UsageSeries,
)
from rating import Charge


def _d(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _seller_to_dict(s: Seller) -> dict[str, Any]:
    return {"name": s.name, "address": list(s.address), "tax_id": s.tax_id, "email": s.email,
            "phone": s.phone, "website": s.website,
            "branding": {"logo_path": s.branding.logo_path, "primary_color": s.branding.primary_color,
                         "accent_color": s.branding.accent_color, "watermark": s.branding.watermark,
                         "footer": s.branding.footer}}  # fmt: skip


def _buyer_to_dict(b: Buyer) -> dict[str, Any]:
    return {"name": b.name, "username": b.username, "email": b.email, "address": list(b.address),
            "account_id": b.account_id}


def _seller_from_dict(s: dict[str, Any]) -> Seller:
    return Seller(name=s["name"], address=tuple(s["address"]), tax_id=s["tax_id"], email=s["email"],
                  phone=s["phone"], website=s["website"], branding=Branding(**s["branding"]))


def _buyer_from_dict(b: dict[str, Any]) -> Buyer:
    return Buyer(name=b["name"], username=b["username"], email=b["email"], address=tuple(b["address"]),
                 account_id=b["account_id"])


def receipt_to_dict(r: Receipt) -> dict[str, Any]:
    return {"number": r.number, "realm": r.realm, "currency": r.currency,
            "payment_date": r.payment_date.isoformat(), "amount": str(r.amount), "method": r.method,
            "seller": _seller_to_dict(r.seller), "buyer": _buyer_to_dict(r.buyer), "reference": r.reference,
            "settled": [{"number": x.number, "amount": str(x.amount),
                         "issue_date": None if x.issue_date is None else x.issue_date.isoformat()}
                        for x in r.settled],
            "balance_after": str(r.balance_after), "notes": list(r.notes), "watermark": r.watermark}


def receipt_from_dict(d: dict[str, Any]) -> Receipt:
    return Receipt(
        number=d["number"], realm=d["realm"], currency=d["currency"],
        payment_date=date.fromisoformat(d["payment_date"]), amount=Decimal(d["amount"]), method=d["method"],
        seller=_seller_from_dict(d["seller"]), buyer=_buyer_from_dict(d["buyer"]), reference=d["reference"],
        settled=tuple(SettledInvoice(x["number"], Decimal(x["amount"]),
                                     None if x["issue_date"] is None else date.fromisoformat(x["issue_date"]))
                      for x in d["settled"]),
        balance_after=Decimal(d["balance_after"]), notes=tuple(d["notes"]), watermark=d["watermark"])


def invoice_to_dict(inv: Invoice) -> dict[str, Any]:
    return {
        "number": inv.number, "realm": inv.realm, "currency": inv.currency,
        "issue_date": inv.issue_date.isoformat(), "due_date": inv.due_date.isoformat(),
        "period_start": inv.period_start.isoformat(), "period_end": inv.period_end.isoformat(),
        "seller": _seller_to_dict(inv.seller),
        "buyer": _buyer_to_dict(inv.buyer),
        "lines": [line_to_dict(line) for line in inv.lines],
        "tax": None if inv.tax is None else {"name": inv.tax.name, "rate": str(inv.tax.rate)},
        "credit_in": str(inv.credit_in),
        "usage": None if inv.usage is None else {
            "unit": inv.usage.unit, "title": inv.usage.title,
            "points": [[p.day.isoformat(), str(p.quantity)] for p in inv.usage.points]},
        "payment_instructions": inv.payment_instructions, "notes": list(inv.notes),
        "watermark": inv.watermark,
    }  # fmt: skip


def line_to_dict(line: InvoiceLine) -> dict[str, Any]:
    return {"description": line.description, "amount": str(line.amount), "group": line.group,
            "quantity": str(line.quantity), "unit": line.unit,
            "unit_price": None if line.unit_price is None else str(line.unit_price),
            "tax_exempt": line.tax_exempt}  # fmt: skip


def invoice_from_dict(d: dict[str, Any]) -> Invoice:
    usage = d.get("usage")
    return Invoice(
        number=d["number"], realm=d["realm"], currency=d["currency"],
        issue_date=date.fromisoformat(d["issue_date"]), due_date=date.fromisoformat(d["due_date"]),
        period_start=date.fromisoformat(d["period_start"]), period_end=date.fromisoformat(d["period_end"]),
        seller=_seller_from_dict(d["seller"]), buyer=_buyer_from_dict(d["buyer"]),
        lines=tuple(InvoiceLine(
            description=x["description"], amount=Decimal(x["amount"]), group=x["group"],
            quantity=Decimal(x["quantity"]), unit=x["unit"], unit_price=_d(x["unit_price"]),
            tax_exempt=x["tax_exempt"]) for x in d["lines"]),
        tax=None if d["tax"] is None else Tax(d["tax"]["name"], Decimal(d["tax"]["rate"])),
        credit_in=Decimal(d["credit_in"]),
        usage=None if usage is None else UsageSeries.from_mapping(
            usage["unit"], {date.fromisoformat(k): Decimal(v) for k, v in usage["points"]}, usage["title"]),
        payment_instructions=d["payment_instructions"], notes=tuple(d["notes"]), watermark=d["watermark"],
    )  # fmt: skip


_DECIMALS = ("quantity", "billed", "units", "rate", "amount", "bundled")
_OPTIONAL = ("window", "band", "klass", "zone", "prefix", "bundle", "cost")


def charge_from_dict(d: dict[str, Any]) -> Charge:
    """The inverse of ``rating.explain.charge_to_dict`` (the ``detail`` of a stream charge)."""
    terms = d.get("terms_from")
    fields: dict[str, Any] = {k: Decimal(str(d[k])) for k in _DECIMALS if k != "bundled"}
    fields.update({k: d.get(k) for k in _OPTIONAL})
    return Charge(
        meter=d["meter"], kind=d["kind"], unit=d["unit"], currency=d["currency"],
        start=datetime.fromisoformat(d["start"]), end=datetime.fromisoformat(d["end"]),
        bundled=Decimal(str(d.get("bundled", "0"))), rule=d.get("rule", ""),
        terms_from=None if not terms else datetime.fromisoformat(terms), **fields,
    )  # fmt: skip
