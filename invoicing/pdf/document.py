"""What invoices and receipts share: the page (A4), theme, header, parties block,
footer with "Page X of Y", the diagonal watermark and building the PDF bytes."""

from __future__ import annotations

import calendar
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache, partial
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfdoc import PDFImageXObject
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Table, TableStyle

from invoicing.errors import LogoError, RenderError
from invoicing.model import Branding, Buyer, Seller
from invoicing.pdf.branding import Logo, colour, load_logo, tint
from invoicing.pdf.canvas import TextCanvas
from invoicing.pdf.fonts import register_fonts
from invoicing.pdf.text import Line, TextBlock

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 16 * mm
FOOTER_HEIGHT = 14 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
GREY = colors.HexColor("#5F6B76")
RULE = colors.HexColor("#D5DAE0")


@dataclass(frozen=True)
class Theme:
    primary: colors.Color
    accent: colors.Color
    regular: str
    bold: str
    body: ParagraphStyle
    small: ParagraphStyle
    small_right: ParagraphStyle
    label: ParagraphStyle
    heading: ParagraphStyle
    title: ParagraphStyle
    seller_name: ParagraphStyle


@lru_cache(maxsize=128)
def make_theme(branding: Branding) -> Theme:
    regular, bold = register_fonts()
    primary = colour(branding.primary_color)
    body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=11.5)
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5, textColor=GREY)
    return Theme(
        primary=primary,
        accent=colour(branding.accent_color),
        regular=regular,
        bold=bold,
        body=body,
        small=small,
        small_right=ParagraphStyle("small_right", parent=small, alignment=TA_RIGHT),
        label=ParagraphStyle("label", parent=body, fontName=bold, fontSize=7.5, textColor=primary,
                             leading=10),
        heading=ParagraphStyle("heading", parent=body, fontName=bold, fontSize=10.5, leading=14,
                               textColor=primary, spaceBefore=8, spaceAfter=3),
        title=ParagraphStyle("title", parent=body, fontName=bold, fontSize=20, leading=24, textColor=primary,
                             alignment=TA_RIGHT),
        seller_name=ParagraphStyle("seller_name", parent=body, fontName=bold, fontSize=16, leading=20,
                                   textColor=primary),
    )  # fmt: skip


def esc(text: str) -> str:
    """User text is data, never markup."""
    return escape(text)


def fitted(text: str, theme: Theme, width: float) -> str | TextBlock:
    """A plain string (drawn much faster) when it fits on one line at 9 pt, else a wrapping block."""
    if stringWidth(text, theme.regular, 9) <= width:
        return text
    return TextBlock([text], theme.body)


def fmt_date(d: date) -> str:
    """30 Jun 2026 (locale-independent)."""
    return f"{d.day} {calendar.month_abbr[d.month]} {d.year}"


class LogoFlowable(Flowable):  # type: ignore[misc]
    """The logo scaled to fit a box, keeping its aspect ratio, left-aligned."""

    def __init__(self, logo: Logo, max_width: float, max_height: float) -> None:
        super().__init__()
        scale = min(max_width / logo.width, max_height / logo.height)
        self.logo = logo
        self.width, self.height = logo.width * scale, logo.height * scale

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        try:
            name = _register_logo(self.canv, self.logo)
        except AttributeError:  # reportlab's internals moved: take the slow, public road
            self.canv.drawImage(self.logo.image, 0, 0, self.width, self.height, mask="auto")
            return
        self.canv.saveState()
        self.canv.scale(self.width, self.height)
        self.canv._code.append(f"/{name} Do")
        self.canv.restoreState()


def _register_logo(canv: TextCanvas, logo: Logo) -> str:
    """Put the logo's pre-compressed pixels into this PDF once; return its XObject name.

    canvas.drawImage would re-read, hash and deflate the pixels for every invoice (about
    a tenth of the render time); this does what it does with the cached bytes.
    """
    doc = canv._doc
    reg_name: str = doc.getXObjectName(logo.digest)
    if doc.idToObject.get(reg_name) is None:
        image = _xobject(logo.digest, logo.width, logo.height, "DeviceRGB", logo.rgb_deflated)
        if logo.alpha_deflated is not None:
            mask = _xobject(logo.digest + "a", logo.width, logo.height, "DeviceGray", logo.alpha_deflated)
            image.smask = doc.Reference(mask, doc.getXObjectName(mask.name))
        canv._setXObjects(image)
        doc.Reference(image, reg_name)
        doc.addForm(logo.digest, image)
    canv._currentPageHasImages = 1
    canv._formsinuse.append(logo.digest)
    return reg_name


def _xobject(name: str, width: int, height: int, colour_space: str, deflated: bytes) -> PDFImageXObject:
    obj = PDFImageXObject(name)
    obj.width, obj.height, obj.bitsPerComponent = width, height, 8
    obj.colorSpace, obj._filters, obj.streamContent, obj.mask = colour_space, ("FlateDecode",), deflated, None
    return obj


def seller_mark(seller: Seller, theme: Theme, strict_logo: bool) -> Flowable:
    """The logo, or the seller's name when there is none (or it cannot be read)."""
    path = seller.branding.logo_path
    if path:
        try:
            return LogoFlowable(load_logo(path), 62 * mm, 22 * mm)
        except LogoError:
            if strict_logo:
                raise
    return TextBlock([seller.name], theme.seller_name)


def header(seller: Seller, title: str, theme: Theme, strict_logo: bool) -> Table:
    """Logo (left); the document title and the seller's details (right)."""
    details: list[Line] = [((seller.name, theme.bold),), *seller.address]
    if seller.tax_id:
        details.append(seller.tax_id)
    contact = " · ".join(x for x in (seller.phone, seller.email, seller.website) if x)
    if contact:
        details.append(contact)
    right = [TextBlock([title], theme.title), TextBlock(details, theme.small_right)]
    table = Table([[seller_mark(seller, theme, strict_logo), right]], colWidths=[CONTENT_WIDTH * 0.5] * 2)
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
        ("LINEBELOW", (0, 0), (-1, 0), 1.5, theme.primary),
    ]))  # fmt: skip
    return table


def parties(buyer: Buyer, heading: str, details: Sequence[tuple[str, str]], theme: Theme) -> Table:
    """The customer block (left) and the document's key facts (right)."""
    who: list[Line] = [((buyer.name, theme.bold),), *buyer.address]
    if buyer.email:
        who.append(buyer.email)
    account = f" (#{buyer.account_id})" if buyer.account_id else ""
    who.append(f"Account: {buyer.username}{account}")
    left = [TextBlock([heading.upper()], theme.label), TextBlock(who, theme.body)]
    rows = [[k, fitted(v, theme, 52 * mm - 12)] for k, v in details]
    facts = Table(rows, colWidths=[30 * mm, 52 * mm])
    facts.setStyle(TableStyle([
        ("FONT", (0, 0), (0, -1), theme.bold, 7.5), ("TEXTCOLOR", (0, 0), (0, -1), theme.primary),
        ("FONT", (1, 0), (1, -1), theme.regular, 9),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("LINEBELOW", (0, 0), (-1, -2), 0.4, RULE),
    ]))  # fmt: skip
    table = Table([[left, facts]], colWidths=[CONTENT_WIDTH - 82 * mm, 82 * mm])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 10), ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
    ]))  # fmt: skip
    return table


class _NumberedCanvas(TextCanvas):
    """Holds pages back until the end so each can say "Page X of Y" (one pass)."""

    def __init__(self, *args: Any, theme: Theme, created: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._theme = theme
        self._pages: list[dict[str, Any]] = []
        _set_creation_date(self, created)

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont(self._theme.regular, 7.5)
            self.setFillColor(GREY)
            self.drawRightString(PAGE_WIDTH - MARGIN, MARGIN - 1, f"Page {self._pageNumber} of {total}")
            super().showPage()
        super().save()


def _set_creation_date(canv: TextCanvas, created: date) -> None:
    """CreationDate/ModDate = the document's own date, so output is reproducible."""
    stamp = getattr(getattr(canv, "_doc", None), "_timeStamp", None)
    if stamp is None:  # reportlab internals moved: keep its invariant date instead
        return
    stamp.lt = (created.year, created.month, created.day, 0, 0, 0, 0, 0, 0)
    stamp.YMDhms = stamp.lt[:6]
    stamp.t = calendar.timegm(stamp.lt)


def _decorate_page(
    canv: TextCanvas, doc: BaseDocTemplate, *, theme: Theme, footer: str, running_head: str,
    watermark: str | None,
) -> None:
    canv.saveState()
    if doc.page > 1:  # continuation pages say whose document they belong to
        canv.setFont(theme.regular, 7.5)
        canv.setFillColor(GREY)
        canv.drawRightString(PAGE_WIDTH - MARGIN, PAGE_HEIGHT - MARGIN + 10, running_head)
    if watermark:
        size = 110.0
        reach = math.hypot(CONTENT_WIDTH, PAGE_HEIGHT - 2 * MARGIN) * 0.75
        size = min(size, size * reach / max(stringWidth(watermark, theme.bold, size), 1))
        canv.setFont(theme.bold, size)
        canv.setFillColor(tint(theme.primary, 0.88))
        canv.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
        canv.rotate(math.degrees(math.atan2(PAGE_HEIGHT, PAGE_WIDTH)))
        canv.drawCentredString(0, -size / 3, watermark)
        canv.restoreState()
        canv.saveState()
    canv.setStrokeColor(theme.primary)
    canv.setLineWidth(0.8)
    canv.line(MARGIN, MARGIN + 10, PAGE_WIDTH - MARGIN, MARGIN + 10)
    if footer:  # top of the footer text just under the rule; the page number sits at its right
        para = TextBlock([footer], theme.small)
        _, h = para.wrap(CONTENT_WIDTH - 30 * mm, FOOTER_HEIGHT)
        para.drawOn(canv, MARGIN, MARGIN + 6 - h)
    canv.restoreState()


def build_pdf(
    story: list[Flowable],
    *,
    theme: Theme,
    title: str,
    author: str,
    subject: str,
    footer: str,
    running_head: str,
    watermark: str | None,
    created: date,
) -> bytes:
    buf = BytesIO()
    doc = BaseDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + FOOTER_HEIGHT,
        title=title,
        author=author,
        subject=subject,
        creator="Jet invoicing",
        invariant=1,
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)  # fmt: skip
    on_page = partial(_decorate_page, theme=theme, footer=footer, running_head=running_head,
                      watermark=watermark)  # fmt: skip
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=on_page)])
    try:
        doc.build(story, canvasmaker=partial(_NumberedCanvas, theme=theme, created=created))
    except LogoError:
        raise
    except Exception as exc:  # reportlab raises LayoutError, ValueError, …
        raise RenderError(f"cannot render {title}: {exc}") from exc
    return buf.getvalue()
