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
        if not self._direct(x, y, text, 0.0, args, kwargs):
            super().drawString(x, y, text, *args, **kwargs)

    def drawRightString(self, x: float, y: float, text: str, *args: Any, **kwargs: Any) -> None:
        if not self._direct(x, y, text, 1.0, args, kwargs):
            super().drawRightString(x, y, text, *args, **kwargs)

    def drawCentredString(self, x: float, y: float, text: str, *args: Any, **kwargs: Any) -> None:
        if not self._direct(x, y, text, 0.5, args, kwargs):
            super().drawCentredString(x, y, text, *args, **kwargs)

    def _direct(self, x: float, y: float, text: str, anchor: float, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> bool:  # fmt: skip
        """Write the line with ``anchor`` (0 left, 0.5 centre, 1 right) of its width at x, if it
        can be written directly; False if it takes reportlab's road."""
        if args or not self.bottomup or not isinstance(text, str):
            return False
        if any(k not in _PLAIN or v != _PLAIN[k] for k, v in kwargs.items()):
            return False
        font = getFont(self._fontname)
        if not isinstance(font, SubsetCachingTTFont):
            return False
        if anchor:
            x -= anchor * font.stringWidth(text, self._fontsize)
        self._code.append(self._line(font, x, y, text))
        return True

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
