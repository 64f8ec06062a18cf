"""The embedded TrueType font (DejaVu Sans, shipped in invoicing/fonts/ with its licence).

The PDF standard fonts have no €-safe, macron-safe encoding; an embedded TTF prints
€, ā, ü, ñ and Māori macrons. Registered once per process.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from reportlab import rl_config
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import FF_NONSYMBOLIC, FF_SYMBOLIC, SUBSETN, TTFont, makeToUnicodeCMap

from invoicing.errors import RenderError

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"
REGULAR = "JetSans"
BOLD = "JetSans-Bold"
_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf"}
_SUBSETS_KEPT = 64  # per face; each is ~20 KiB of deflated glyphs
_WIDTHS_KEPT = 20_000  # (text, size) pairs per face


def _deflate_fast(self: object, text: str | bytes) -> bytes:
    return zlib.compress(text.encode("utf8") if isinstance(text, str) else text, 1)


class _Formatted(pdfdoc.PDFObject):  # type: ignore[misc]
    """A PDF object whose bytes were formatted once, in an earlier document, and are reused."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def format(self, document: Any) -> bytes:
        return self.data


class _FormattedStream(_Formatted):
    __RefOnly__ = 1  # an indirect object, like the PDFStream it was formatted from


@dataclass(frozen=True)
class _Subset:
    widths: bytes  # the /Widths array
    cmap: bytes  # the ToUnicode stream, deflated
    glyphs: bytes  # the FontFile2 stream: the subset of the TrueType file, deflated


class SubsetCachingTTFont(TTFont):  # type: ignore[misc]
    """A TTFont that keeps the PDF objects of each 256-character subset it embedded.

    reportlab re-cuts the TrueType file and deflates it for every document (with the
    ToUnicode map and the widths: about a sixth of an invoice's render time). Invoices of
    one realm use the same characters in the same order (ASCII is pre-assigned; €, ·
    and the like come next in order of first use), so the same subsets recur; their bytes
    are formatted once and copied into every later document. Same output, byte for byte.
    """

    def __init__(self, name: str, filename: str) -> None:
        super().__init__(name, filename)
        # an invoice measures the same labels, words and amounts many times over (wrapping,
        # right-aligning, table cells): widths are remembered, as are the subsets' PDF objects
        self._width = lru_cache(maxsize=_WIDTHS_KEPT)(super().stringWidth)
        self._subset = lru_cache(maxsize=_SUBSETS_KEPT)(self._format_subset)
        # printable ASCII is pre-assigned to itself in subset 0 of every document
        glyphs = self.face.charToGlyph
        self._ascii_as_is = bool(self._asciiReadable) and all(c in glyphs for c in range(32, 127))

    def stringWidth(self, text: str, size: float, encoding: str = "utf8") -> float:
        width: float = self._width(text, size, encoding)
        return width

    def splitString(self, text: str | bytes, doc: Any, encoding: str = "utf-8") -> list[tuple[int, bytes]]:
        """reportlab's, with printable ASCII (most text) passed through without a loop per character."""
        if isinstance(text, str) and (text.isascii() and text.isprintable() and self._ascii_as_is
                                      and doc in self.state):  # fmt: skip
            return [(0, text.encode("ascii"))] if text else []
        result: list[tuple[int, bytes]] = super().splitString(text, doc, encoding)
        return result

    def addObjects(self, doc: Any) -> None:
        if type(doc.encrypt) is not pdfdoc.NoEncryption or not doc.compression:
            super().addObjects(doc)
            return
        state = self._assignState(doc)
        state.frozen = 1
        face = self.face
        fonts = doc.idToObject["BasicFonts"].dict
        for n, chars in enumerate(state.subsets):
            internal = self.getSubsetInternalName(n, doc)[1:]
            base = b"".join((SUBSETN(n), b"+", face.name, face.subfontNameX)).decode("pdfdoc")
            parts = self._subset(base, tuple(chars))
            font = pdfdoc.PDFTrueTypeFont()
            font.__Comment__ = f"Font {self.fontName} subset {n}"
            font.Name = internal
            font.BaseFont = base
            font.FirstChar = 0
            font.LastChar = len(chars) - 1
            font.Widths = _Formatted(parts.widths)
            font.ToUnicode = doc.Reference(_FormattedStream(parts.cmap), "toUnicodeCMap:" + base)
            glyphs = doc.Reference(_FormattedStream(parts.glyphs), f"fontFile:{face.filename}({base})")
            descriptor = pdfdoc.PDFDictionary({
                "Type": "/FontDescriptor",
                "Ascent": face.ascent,
                "CapHeight": face.capHeight,
                "Descent": face.descent,
                "Flags": (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC,
                "FontBBox": pdfdoc.PDFArray(face.bbox),
                "FontName": pdfdoc.PDFName(base),
                "ItalicAngle": face.italicAngle,
                "StemV": face.stemV,
                "FontFile2": glyphs,
                "MissingWidth": face.defaultWidth,
            })  # fmt: skip
            font.FontDescriptor = doc.Reference(descriptor, "fontDescriptor:" + base)
            doc.Reference(font, internal)
            fonts[internal] = font
        del self.state[doc]

    def _format_subset(self, base: str, chars: tuple[int, ...]) -> _Subset:
        """The subset's objects formatted as reportlab formats them (no document needed: no
        references inside, and ``addObjects`` takes this road only for unencrypted PDFs)."""
        doc = pdfdoc.DummyDoc()
        glyphs = pdfdoc.PDFStream(filters=[pdfdoc.PDFZCompress])
        glyphs.content = self.face.makeSubset(list(chars))
        glyphs.dictionary["Length1"] = len(glyphs.content)
        cmap = pdfdoc.PDFStream(content=makeToUnicodeCMap(base, list(chars)), filters=[pdfdoc.PDFZCompress])
        widths = pdfdoc.PDFArray([self.face.getCharWidth(c) for c in chars])
        return _Subset(widths.format(doc), cmap.format(doc), glyphs.format(doc))


@cache
def register_fonts() -> tuple[str, str]:
    """Register the regular and bold faces with reportlab; return their names.

    Also, process-wide: turns off reportlab's ASCII85 wrapping of streams (binary streams
    are valid PDF, ~20% smaller, and skip an encoding pass that cost ~20% of a render), and
    deflates streams at zlib level 1 instead of 6 (measured: ~0.9 ms less CPU per invoice,
    about a tenth of a render, for PDFs 4% larger).
    """
    rl_config.useA85 = 0
    pdfdoc.PDFStreamFilterZCompress.encode = _deflate_fast
    for name, filename in _FILES.items():
        path = FONT_DIR / filename
        try:
            pdfmetrics.registerFont(SubsetCachingTTFont(name, str(path)))
        except Exception as exc:  # reportlab raises TTFError, OSError, struct.error…
            raise RenderError(f"cannot load font {path}: {exc}") from exc
    addMapping(REGULAR, 0, 0, REGULAR)
    addMapping(REGULAR, 1, 0, BOLD)
    addMapping(REGULAR, 0, 1, REGULAR)
    addMapping(REGULAR, 1, 1, BOLD)
    return REGULAR, BOLD
