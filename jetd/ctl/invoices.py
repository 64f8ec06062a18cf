"""jetctl invoice list / show / pdf / resend (docs/billing.md)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import click

from jetd.ctl.base import call, cli, emit, json_option, table

COLUMNS = ["number", "username", "period_start", "period_end", "total", "currency", "delivery"]
RECEIPT_COLUMNS = ["number", "account_id", "payment_date", "amount", "currency", "delivery"]


def _rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i in items:
        d = i["delivery"]
        state = d["status"] if d["status"] != "pending" else f"pending ({d['attempts']} tried)"
        out.append({**i, "delivery": f"{state} {d['channel'] or ''}".strip()})
    return out


def _show_text(r: dict[str, Any]) -> str:
    d = r["delivery"]
    lines = [f"{r['number']}  {r['username']}@{r['realm']}  {r['period_start']} .. {r['period_end']}",
             f"issued {r['issue_date']}, due {r['due_date']}"]
    for line in r["lines"]:
        lines.append(f"  {line['description']:<60} {line['amount']:>12}")
    lines += [f"  {'subtotal':<60} {r['subtotal']:>12}",
              f"  {(r['tax_name'] or 'tax'):<60} {r['tax']:>12}",
              f"  {'total ' + r['currency']:<60} {r['total']:>12}",
              f"delivery: {d['status']} {d['channel'] or ''} after {d['attempts']} attempt(s)"
              + (f"; last error: {d['last_error']}" if d["last_error"] else "")]
    return "\n".join(lines)


def _write_pdf(result: dict[str, Any], output: str | None) -> None:
    path = Path(output or result["filename"])
    path.write_bytes(base64.b64decode(result["pdf"]))
    click.echo(f"{path}")


@cli.group()
def invoice() -> None:
    """Invoices made by jet-invoicer."""


@invoice.command("list")
@click.option("--account", "username", metavar="USER", help="Only this account (user or user@realm).")
@click.option("--realm")
@click.option("--undelivered", is_flag=True, help="Only invoices not delivered yet (or failed).")
@click.option("--limit", type=click.IntRange(1, 100000), default=1000, show_default=True)
@json_option
def invoice_list(as_json: bool, undelivered: bool, **opts: Any) -> None:
    """List invoices."""
    result = call("invoice.list", undelivered=undelivered, **opts)
    emit(result, as_json, lambda items: table(_rows(items), COLUMNS))


@invoice.command("show")
@click.argument("number")
@json_option
def invoice_show(number: str, as_json: bool) -> None:
    """An invoice's lines, totals and delivery."""
    emit(call("invoice.show", number=number), as_json, _show_text)


@invoice.command("pdf")
@click.argument("number")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Default: the invoice's file name.")
def invoice_pdf(number: str, output: str | None) -> None:
    """Write the invoice's PDF to a file."""
    _write_pdf(call("invoice.pdf", number=number), output)


@invoice.command("resend")
@click.argument("number")
@json_option
def invoice_resend(number: str, as_json: bool) -> None:
    """Deliver an invoice again (jet-invoicer sends it within seconds)."""
    emit(call("invoice.resend", number=number), as_json, lambda r: f"{r['number']}: queued for delivery")


@cli.group()
def receipt() -> None:
    """Receipts for payments, made by jet-invoicer."""


@receipt.command("list")
@click.option("--account", "username", metavar="USER", help="Only this account (user or user@realm).")
@click.option("--realm")
@click.option("--limit", type=click.IntRange(1, 100000), default=1000, show_default=True)
@json_option
def receipt_list(as_json: bool, **opts: Any) -> None:
    """List receipts."""
    result = call("receipt.list", **opts)
    emit(result, as_json, lambda items: table(_rows(items), RECEIPT_COLUMNS))


@receipt.command("pdf")
@click.argument("number")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Default: the receipt's file name.")
def receipt_pdf(number: str, output: str | None) -> None:
    """Write the receipt's PDF to a file."""
    _write_pdf(call("receipt.pdf", number=number), output)
