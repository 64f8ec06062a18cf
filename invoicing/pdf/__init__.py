"""PDF invoices and receipts in a realm's branding (reportlab platypus)."""

from invoicing.pdf.branding import check_branding, load_logo
from invoicing.pdf.invoice import render_invoice
from invoicing.pdf.receipt import render_receipt

__all__ = ["check_branding", "load_logo", "render_invoice", "render_receipt"]
