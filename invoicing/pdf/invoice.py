"""Render an `Invoice` to PDF bytes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from invoicing.currency import currency_scale, format_amount, format_money
from invoicing.model import Invoice, InvoiceLine
from invoicing.pdf.chart import usage_chart
from invoicing.pdf.document import (
    CONTENT_WIDTH,
    GREY,
    RULE,
    Theme,
    build_pdf,
    esc,
    fmt_date,
    header,
    make_theme,
    parties,
)
from invoicing.pdf.items import LineItems
from invoicing.pdf.text import Line, TextBlock
from invoicing.totals import InvoiceTotals

_COLS = [CONTENT_WIDTH - 3 * 30 * mm, 30 * mm, 30 * mm, 30 * mm]
_TOTALS_WIDTH = 80 * mm


def render_invoice(invoice: Invoice, *, strict_logo: bool = False) -> bytes:
    """The invoice as PDF bytes. Same invoice, same bytes.

    A missing or unreadable logo is replaced by the seller's name, or raises
    `LogoError` when `strict_logo` is set. Layout failures raise `RenderError`.
    """
    theme = make_theme(invoice.seller.branding)
    totals = invoice.totals
    title = "Tax invoice" if invoice.tax is not None else "Invoice"
    story: list[Flowable] = [
        header(invoice.seller, title.upper(), theme, strict_logo),
        parties(invoice.buyer, "Bill to", [
            ("Invoice number", invoice.number),
            ("Issue date", fmt_date(invoice.issue_date)),
            ("Due date", fmt_date(invoice.due_date)),
            ("Period", f"{fmt_date(invoice.period_start)} – {fmt_date(invoice.period_end)}"),
            ("Amount due", format_money(totals.total, invoice.currency)),
        ], theme),
        _items(invoice, theme),
        Spacer(0, 6),
        _summary(invoice, totals, theme),
    ]  # fmt: skip
    if invoice.usage is not None and invoice.usage.points:
        total_use = sum((p.quantity for p in invoice.usage.points), Decimal(0))
        story.append(KeepTogether([
            Paragraph(f"{esc(invoice.usage.title)} <font size='8' color='#5F6B76'>"
                      f"(total {_quantity(total_use)} {esc(invoice.usage.unit)})</font>", theme.heading),
            usage_chart(invoice.usage, *_chart_span(invoice), CONTENT_WIDTH, theme),
        ]))  # fmt: skip
    if invoice.notes:
        story += [TextBlock(["Notes"], theme.heading), TextBlock(invoice.notes, theme.body)]
    return build_pdf(
        story,
        theme=theme,
        title=f"{title} {invoice.number}",
        author=invoice.seller.name,
        subject=f"{title} {invoice.number} for {invoice.buyer.name}",
        footer=invoice.seller.branding.footer,
        running_head=f"{title} {invoice.number} · {invoice.buyer.name}",
        watermark=invoice.effective_watermark,
        created=invoice.issue_date,
    )


def _quantity(q: Decimal) -> str:
    if q == q.to_integral_value():
        return f"{q:,.0f}"
    return f"{q.normalize():,f}"


def _unit_price(price: Decimal, currency: str) -> str:
    scale = currency_scale(currency)
    exponent = price.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > scale:  # e.g. 0.0050/min: keep the digits
        return f"{price.normalize():,f}"
    return format_amount(price, currency)


def _line_texts(line: InvoiceLine, amount: Decimal, currency: str) -> tuple[str, str, str, str]:
    qty = _quantity(line.quantity) + (f" {line.unit}" if line.unit else "")
    price = _unit_price(line.unit_price, currency) if line.unit_price is not None else ""
    text = line.description + (" (no tax)" if line.tax_exempt else "")
    return text, qty, price, format_amount(amount, currency)


def _items(invoice: Invoice, theme: Theme) -> LineItems:
    currency = invoice.currency
    body: list[tuple[str, tuple[str, str, str, str]]] = []
    for group in invoice.groups:
        body.append(("group", (group.name, "", "", format_amount(group.subtotal, currency))))
        body.extend(("line", _line_texts(w.line, w.amount, currency)) for w in group.lines)
    if not body:
        body.append(("line", ("No charges in this period.", "", "", format_amount(Decimal(0), currency))))
    header = ("Description", "Quantity", "Unit price", f"Amount ({currency})")
    return LineItems.build(header, body, _COLS, theme)


def _summary(invoice: Invoice, totals: InvoiceTotals, theme: Theme) -> Table:
    """Tax summary and how to pay (left), the totals box (right)."""
    left: list[Flowable] = []
    if invoice.tax is not None:
        left += [TextBlock(["Tax summary"], theme.heading), _tax_table(invoice, totals, theme)]
    left.append(TextBlock(["How to pay"], theme.heading))
    due: Line = "Nothing to pay: this invoice is covered by credit."
    if totals.total > 0:
        due = (("Please pay ", theme.regular), (format_money(totals.total, invoice.currency), theme.bold),
               (" by ", theme.regular), (fmt_date(invoice.due_date), theme.bold), (".", theme.regular))
    left.append(TextBlock([due], theme.body))
    if invoice.payment_instructions:
        left.append(TextBlock([invoice.payment_instructions], theme.body))
    table = Table([[left, _totals_box(invoice, totals, theme)]],
                  colWidths=[CONTENT_WIDTH - _TOTALS_WIDTH - 8 * mm, _TOTALS_WIDTH + 8 * mm])  # fmt: skip
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("LEFTPADDING", (1, 0), (1, 0), 8 * mm),
    ]))  # fmt: skip
    return table


def _tax_table(invoice: Invoice, totals: InvoiceTotals, theme: Theme) -> Table:
    assert invoice.tax is not None
    cur = invoice.currency
    rows: list[list[object]] = [
        ["Tax", "Rate", "Taxable", "Tax"],
        [invoice.tax.name, invoice.tax.percent, format_amount(totals.taxable, cur),
         format_amount(totals.tax, cur)],
    ]
    if totals.exempt:
        rows.append(["No tax", "–", format_amount(totals.exempt, cur), format_amount(Decimal(0), cur)])
    table = Table(rows, colWidths=[22 * mm, 14 * mm, 22 * mm, 20 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), theme.bold, 7.5), ("TEXTCOLOR", (0, 0), (-1, 0), GREY),
        ("FONT", (0, 1), (-1, -1), theme.regular, 8.5),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, RULE),
        ("LEFTPADDING", (0, 0), (0, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]))  # fmt: skip
    return table


def _totals_box(invoice: Invoice, totals: InvoiceTotals, theme: Theme) -> Table:
    cur = invoice.currency
    rows: list[list[str]] = [["Subtotal", format_amount(totals.subtotal, cur)]]
    if invoice.tax is not None:
        rows.append([f"{invoice.tax.name} {invoice.tax.percent}", format_amount(totals.tax, cur)])
    if totals.credit_applied:
        rows.append(["Credit applied", format_amount(-totals.credit_applied, cur)])
    rows.append([f"Total due ({cur})", format_money(totals.total, cur)])
    last = len(rows) - 1
    style: list[tuple[object, ...]] = [
        ("FONT", (0, 0), (-1, -1), theme.regular, 9),
        ("ALIGN", (1, 0), (1, -1), "RIGHT"),
        ("LINEBELOW", (0, 0), (-1, last - 1), 0.4, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 3.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
        ("FONT", (0, last), (-1, last), theme.bold, 11),
        ("BACKGROUND", (0, last), (-1, last), theme.primary),
        ("TEXTCOLOR", (0, last), (-1, last), colors.white),
        ("TOPPADDING", (0, last), (-1, last), 6), ("BOTTOMPADDING", (0, last), (-1, last), 6),
    ]
    if totals.credit_forward:
        rows.append(["Credit carried forward", format_amount(totals.credit_forward, cur)])
        style += [("FONT", (0, -1), (-1, -1), theme.regular, 8), ("TEXTCOLOR", (0, -1), (-1, -1), GREY)]
    table = Table(rows, colWidths=[_TOTALS_WIDTH - 32 * mm, 32 * mm], hAlign="RIGHT", spaceBefore=8)
    table.setStyle(TableStyle(style))
    return table


def _chart_span(invoice: Invoice) -> tuple[date, date]:
    """The invoice period, or the series' own days when it lies outside it (usage billed in
    arrears: the invoice of 1 July charts June)."""
    assert invoice.usage is not None
    days = [p.day for p in invoice.usage.points]
    if min(days) < invoice.period_start or max(days) > invoice.period_end:
        return min(days), max(days)
    return invoice.period_start, invoice.period_end
