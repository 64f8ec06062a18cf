"""Invoices to JSON-ready dicts and back (the stored ``document``), and stored charges back
to ``rating.Charge``. Decimals travel as strings, dates as ISO 8601."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from invoicing.model import Branding, Buyer, Invoice, InvoiceLine, Seller, Tax, UsageSeries
from rating import Charge


def _d(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def invoice_to_dict(inv: Invoice) -> dict[str, Any]:
    s, b = inv.seller, inv.buyer
    return {
        "number": inv.number, "realm": inv.realm, "currency": inv.currency,
        "issue_date": inv.issue_date.isoformat(), "due_date": inv.due_date.isoformat(),
        "period_start": inv.period_start.isoformat(), "period_end": inv.period_end.isoformat(),
        "seller": {"name": s.name, "address": list(s.address), "tax_id": s.tax_id, "email": s.email,
                   "phone": s.phone, "website": s.website,
                   "branding": {"logo_path": s.branding.logo_path, "primary_color": s.branding.primary_color,
                                "accent_color": s.branding.accent_color, "watermark": s.branding.watermark,
                                "footer": s.branding.footer}},
        "buyer": {"name": b.name, "username": b.username, "email": b.email, "address": list(b.address),
                  "account_id": b.account_id},
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
    s, b = d["seller"], d["buyer"]
    usage = d.get("usage")
    return Invoice(
        number=d["number"], realm=d["realm"], currency=d["currency"],
        issue_date=date.fromisoformat(d["issue_date"]), due_date=date.fromisoformat(d["due_date"]),
        period_start=date.fromisoformat(d["period_start"]), period_end=date.fromisoformat(d["period_end"]),
        seller=Seller(name=s["name"], address=tuple(s["address"]), tax_id=s["tax_id"], email=s["email"],
                      phone=s["phone"], website=s["website"], branding=Branding(**s["branding"])),
        buyer=Buyer(name=b["name"], username=b["username"], email=b["email"], address=tuple(b["address"]),
                    account_id=b["account_id"]),
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
