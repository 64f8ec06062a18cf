"""Render a `Receipt` (proof of one payment) to PDF bytes, in the invoices' style."""

from __future__ import annotations

from decimal import Decimal

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from invoicing.currency import format_amount, format_money
from invoicing.model import Receipt
from invoicing.pdf.document import CONTENT_WIDTH, RULE, build_pdf, fmt_date, header, make_theme, parties
from invoicing.pdf.text import TextBlock


def render_receipt(receipt: Receipt, *, strict_logo: bool = False) -> bytes:
    """The receipt as PDF bytes (same logo fallback and errors as `render_invoice`)."""
    theme = make_theme(receipt.seller.branding)
    cur = receipt.currency
    facts = [
        ("Receipt number", receipt.number),
        ("Payment date", fmt_date(receipt.payment_date)),
        ("Method", receipt.method),
    ]
    if receipt.reference:
        facts.append(("Reference", receipt.reference))
    facts.append(("Amount paid", format_money(receipt.amount, cur)))
    story: list[Flowable] = [
        header(receipt.seller, "RECEIPT", theme, strict_logo),
        parties(receipt.buyer, "Received from", facts, theme),
    ]
    rows: list[list[object]] = [["Invoice", "Issued", f"Applied ({cur})"]]
    rows += [[s.number, fmt_date(s.issue_date) if s.issue_date else "", format_amount(s.amount, cur)]
             for s in receipt.settled]  # fmt: skip
    applied = sum((s.amount for s in receipt.settled), Decimal(0))
    if receipt.amount > applied:
        rows.append(["Held as credit on the account", "", format_amount(receipt.amount - applied, cur)])
    rows.append(["Total received", "", format_money(receipt.amount, cur)])
    table = Table(rows, colWidths=[CONTENT_WIDTH - 70 * mm, 35 * mm, 35 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), theme.bold, 8.5),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("BACKGROUND", (0, 0), (-1, 0), theme.primary),
        ("FONT", (0, 1), (-1, -1), theme.regular, 9),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("LINEBELOW", (0, 1), (-1, -2), 0.4, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("FONT", (0, -1), (-1, -1), theme.bold, 10.5),
        ("BACKGROUND", (0, -1), (-1, -1), theme.accent),
        ("TEXTCOLOR", (0, -1), (-1, -1), theme.primary),
    ]))  # fmt: skip
    story += [table, Spacer(0, 8)]
    if receipt.balance_after > 0:
        balance = f"Balance still owing after this payment: {format_money(receipt.balance_after, cur)}."
    elif receipt.balance_after < 0:
        balance = f"Your account is in credit by {format_money(-receipt.balance_after, cur)}."
    else:
        balance = "Your account is fully paid. Thank you."
    story.append(TextBlock([balance], theme.body))
    if receipt.notes:
        story += [TextBlock(["Notes"], theme.heading), TextBlock(receipt.notes, theme.body)]
    return build_pdf(
        story,
        theme=theme,
        title=f"Receipt {receipt.number}",
        author=receipt.seller.name,
        subject=f"Receipt {receipt.number} for {receipt.buyer.name}",
        footer=receipt.seller.branding.footer,
        running_head=f"Receipt {receipt.number} · {receipt.buyer.name}",
        watermark=receipt.effective_watermark,
        created=receipt.payment_date,
    )
