"""A canvas that writes single lines of text straight into the page.

reportlab's drawString builds a text object, measures the string (even when nothing
needs its width), and formats it through several layers; an invoice draws about a
hundred strings, and that machinery was about a fifth of its render time. For the
embedded fonts and plain left-to-right text this writes the same operators (same bytes)
directly; anything else (render modes, spacing, shaping, right-to-left, other fonts)
takes reportlab's road.
"""

from __future__ import annotations

from typing import Any

from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase.pdfmetrics import getFont
from reportlab.pdfgen.canvas import Canvas

from invoicing.pdf.fonts import SubsetCachingTTFont

# drawString's keyword arguments that leave the text as it is
_PLAIN = {"mode": None, "charSpace": 0, "direction": None, "wordSpace": None, "shaping": False}


class TextCanvas(Canvas):  # type: ignore[misc]
    def drawString(self, x: float, y: float, text: str, *args: Any, **kwargs: Any) -> None:
        font = self._plain_font(text, args, kwargs)
        if font is None:
            super().drawString(x, y, text, *args, **kwargs)
        else:
            self._code.append(self._line(font, x, y, text))

    def drawRightString(self, x: float, y: float, text: str, *args: Any, **kwargs: Any) -> None:
        font = self._plain_font(text, args, kwargs)
        if font is None:
            super().drawRightString(x, y, text, *args, **kwargs)
        else:
            self._code.append(self._line(font, x - font.stringWidth(text, self._fontsize), y, text))

    def drawCentredString(self, x: float, y: float, text: str, *args: Any, **kwargs: Any) -> None:
        font = self._plain_font(text, args, kwargs)
        if font is None:
            super().drawCentredString(x, y, text, *args, **kwargs)
        else:
            self._code.append(self._line(font, x - 0.5 * font.stringWidth(text, self._fontsize), y, text))

    def _plain_font(
        self, text: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> SubsetCachingTTFont | None:
        """The current font when the string can be written directly, else None."""
        if args or not self.bottomup or not isinstance(text, str):
            return None
        if any(k not in _PLAIN or v != _PLAIN[k] for k, v in kwargs.items()):
            return None
        font = getFont(self._fontname)
        return font if isinstance(font, SubsetCachingTTFont) else None

    def _line(self, font: SubsetCachingTTFont, x: float, y: float, text: str) -> str:
        """What beginText(x, y).textLine(text) and drawText write, as one string."""
        doc = self._doc
        out = []
        current = -1
        for subset, chunk in font.splitString(text, doc):
            if subset != current:
                name = font.getSubsetInternalName(subset, doc)
                out.append(f"{name} {fp_str(self._fontsize)} Tf {fp_str(self._leading)} TL")
                current = subset
            out.append(f"({self._escape(chunk)}) Tj")
        return f"BT 1 0 0 1 {fp_str(x, y)} Tm {' '.join(out)} T* ET"
