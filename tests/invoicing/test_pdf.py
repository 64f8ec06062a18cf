"""PDF rendering, read back with poppler's pdftotext."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from PIL import Image
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from invoicing.errors import LogoError
from invoicing.model import Branding, InvoiceLine, Tax
from invoicing.pdf import check_branding, render_invoice, render_receipt
from invoicing.pdf.canvas import TextCanvas
from invoicing.pdf.fonts import SubsetCachingTTFont
from tests.invoicing import factories as f
from tests.invoicing.conftest import pdf_text

SAMPLE_LOGO = Path(__file__).resolve().parents[2] / "config" / "branding" / "sample-logo.png"


@pytest.fixture
def logo_png(tmp_path: Path) -> str:
    path = tmp_path / "logo.png"
    Image.new("RGB", (120, 40), (200, 30, 60)).save(path)
    return str(path)


def test_s7_june_invoice_text(tmp_path: Path, logo_png: str) -> None:
    text = pdf_text(render_invoice(f.s7_june(logo_path=logo_png)), tmp_path)
    assert "TAX INVOICE" in text
    assert "INV-default-2026-000001" in text
    assert "129.00" in text and "19.35" in text
    assert "NZ$148.35" in text
    assert "GST 15%" in text
    assert "Ōtautahi Fibre Ltd" in text and "Mere Pōtae" in text  # macrons survive
    assert "16 Jun 2026 – 30 Jun 2026" in text
    assert "Daily data usage" in text
    assert "Page 1 of 1" in text


def test_euro_and_accents_are_extracted(tmp_path: Path) -> None:
    inv = replace(
        f.s7_july(),
        currency="EUR",
        tax=Tax("MwSt", D("0.19")),
        buyer=replace(f.buyer(), name="Jürgen Muñoz", address=("Königstraße 1", "München")),
        lines=(InvoiceLine("Glasfaser 300 — Juli, ā ü ñ", D("60.00"), unit="Monat", unit_price=D("60.00")),),
    )
    text = pdf_text(render_invoice(inv), tmp_path)
    assert "€71.40" in text  # 60.00 + 19% = 71.40
    assert "Jürgen Muñoz" in text and "Königstraße" in text and "ā ü ñ" in text
    assert "MwSt 19%" in text


def test_s8_and_credit_lines(tmp_path: Path) -> None:
    text = pdf_text(render_invoice(replace(f.s8_owner(), credit_in=D("10.00"))), tmp_path)
    assert "45.00" in text and "6.75" in text
    assert "Credit applied" in text and "-10.00" in text
    assert "NZ$41.75" in text


def test_long_invoice_runs_over_pages_with_page_x_of_y(tmp_path: Path) -> None:
    call = InvoiceLine("Call", D("0.1000"), group="Calls — national", quantity=D(2), unit="min",
                       unit_price=D("0.05"))  # fmt: skip
    lines = tuple(replace(call, description=f"Call {n} to 6444720000") for n in range(90))
    text = pdf_text(render_invoice(replace(f.s7_july(), lines=lines)), tmp_path)
    assert "Page 1 of 3" in text or "Page 1 of 2" in text
    pages = text.count("Page ")
    assert f"Page {pages} of {pages}" in text
    assert text.count("Description") == pages  # the header row repeats on every page


def test_same_invoice_same_bytes_dated_by_the_invoice(logo_png: str, tmp_path: Path) -> None:
    inv = f.s7_june(logo_path=logo_png)
    pdf = render_invoice(inv)
    assert pdf == render_invoice(inv)
    (tmp_path / "a.pdf").write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(tmp_path / "a.pdf")], check=True, capture_output=True,
                          text=True).stdout  # fmt: skip
    assert "Jun 30 00:00:00 2026" in info and "Pages:           1" in info


def test_fast_paths_write_what_reportlab_writes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Font subsets formatted once and copied into later PDFs, printable ASCII passed through,
    widths remembered, lines of text written straight to the page: the same bytes as reportlab's
    own ways, also when a later document uses other characters or runs over pages."""
    other = replace(f.s7_july(), buyer=replace(f.buyer(), name="Jürgen Muñoz ñ ß"), watermark="ENTWURF",
                    lines=tuple(InvoiceLine(f"Call {n} — ā", D("0.10")) for n in range(90)))  # fmt: skip
    docs = [f.s7_june(), other, f.s7_june(watermark="DRAFT"), other]
    cached = [render_invoice(inv) for inv in docs] + [render_receipt(f.receipt())]
    for name in ("addObjects", "splitString", "stringWidth"):
        monkeypatch.setattr(SubsetCachingTTFont, name, getattr(TTFont, name))
    for name in ("drawString", "drawRightString", "drawCentredString"):
        monkeypatch.setattr(TextCanvas, name, getattr(Canvas, name))
    assert [render_invoice(inv) for inv in docs] + [render_receipt(f.receipt())] == cached
    assert "Jürgen Muñoz ñ ß" in pdf_text(cached[3], tmp_path)


def test_missing_logo_falls_back_to_the_name_or_raises_when_strict(tmp_path: Path) -> None:
    inv = f.s7_june(logo_path=str(tmp_path / "nope.png"))
    text = pdf_text(render_invoice(inv), tmp_path)
    assert "Ōtautahi Fibre Ltd" in text and "148.35" in text
    with pytest.raises(LogoError, match=r"nope\.png"):
        render_invoice(inv, strict_logo=True)


def test_bad_logo_is_a_logo_error(tmp_path: Path) -> None:
    bad = tmp_path / "logo.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    gif = tmp_path / "logo.gif"
    Image.new("RGB", (4, 4)).save(gif)
    for path in (bad, gif):
        with pytest.raises(LogoError):
            check_branding(Branding(logo_path=str(path)))
    assert "148.35" in pdf_text(render_invoice(f.s7_june(logo_path=str(bad))), tmp_path)


def test_sample_logo_and_jpeg_logo_render(tmp_path: Path) -> None:
    check_branding(Branding(logo_path=str(SAMPLE_LOGO)))
    jpeg = tmp_path / "logo.jpg"
    Image.new("RGB", (300, 100), (10, 80, 110)).save(jpeg)
    for logo in (str(SAMPLE_LOGO), str(jpeg)):
        assert "148.35" in pdf_text(render_invoice(f.s7_june(logo_path=logo)), tmp_path)


def test_watermark_and_credit_only_invoice(tmp_path: Path) -> None:
    inv = replace(
        f.s7_july(),
        watermark="DRAFT",
        tax=None,
        lines=(InvoiceLine("Export credit 700 kWh", D("-56.00"), group="Energy export credit"),),
        usage=None,
    )
    text = pdf_text(render_invoice(inv), tmp_path)
    assert "INVOICE" in text and "TAX INVOICE" not in text
    assert "Nothing to pay" in text and "Credit carried forward" in text and "56.00" in text
    raw = tmp_path / "raw.pdf"
    raw.write_bytes(render_invoice(inv))
    letters = subprocess.run(["pdftotext", "-raw", str(raw), "-"], check=True, capture_output=True,
                             text=True).stdout  # fmt: skip
    assert "DRAFT" in letters.replace("\n", "")  # the diagonal watermark, one letter per line


def test_user_text_is_not_markup(tmp_path: Path) -> None:
    inv = replace(f.s7_july(), buyer=replace(f.buyer(), name="Smith & Sons <b>Ltd</b>"))
    assert "Smith & Sons <b>Ltd</b>" in pdf_text(render_invoice(inv), tmp_path)


def test_receipt_text(tmp_path: Path, logo_png: str) -> None:
    text = pdf_text(render_receipt(f.receipt(logo_path=logo_png)), tmp_path)
    assert "RECEIPT" in text and "RCT-default-2026-000001" in text
    assert "INV-default-2026-000001" in text and "NZ$148.35" in text
    assert "Bank transfer" in text and "fully paid" in text
    assert "Page 1 of 1" in text


def test_usage_chart_over_a_long_period_renders(tmp_path: Path) -> None:
    usage = f.daily(date(2026, 4, 1), date(2026, 6, 30))
    inv = replace(f.s7_june(), period_start=date(2026, 4, 1), usage=usage)
    assert "Daily data usage" in pdf_text(render_invoice(inv), tmp_path)


def test_long_notes_and_instructions_wrap_and_run_over_pages(tmp_path: Path) -> None:
    """Text blocks wrap at spaces within the column and split between pages: nothing is cut off."""
    words = " ".join(f"word{n}" for n in range(60))
    notes = tuple(f"Note {n}: {words} end{n}." for n in range(40))
    pay = "Bank 12-3456-7890123-00\nReference <your id> & name"
    inv = replace(f.s7_july(), notes=notes, payment_instructions=pay)
    text = pdf_text(render_invoice(inv), tmp_path)
    assert "Page 2 of" in text
    assert all(f"Note {n}: word0" in text and f"end{n}." in text for n in range(40))
    assert max(map(len, text.splitlines())) < 130  # wrapped, not run off the page
    assert "Reference <your id> & name" in text and "Bank 12-3456-7890123-00" in text
    assert "Please pay NZ$" in text
