"""Plain text blocks: what Paragraph did for the documents' own text, at a fraction of the cost.

reportlab's Paragraph parses its text as markup (with an HTML parser) and lays it out as
styled fragments. The documents' headings, addresses, notes and payment lines are plain
text in one style, at most with a bold run; for them that machinery was about a quarter
of the time to render an invoice. ``TextBlock`` wraps at spaces (``simpleSplit``) and
draws each line with ``drawString``: the same look, no markup, so user text needs no
escaping.
"""

from __future__ import annotations

from collections.abc import Iterable

from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import getAscentDescent, stringWidth
from reportlab.platypus import Flowable

Run = tuple[str, str]  # text, font name
Line = str | tuple[Run, ...]  # plain text in the style's font, or runs in their own fonts


class TextBlock(Flowable):  # type: ignore[misc]
    """Lines of text in one style, each wrapped to the width. A line of several runs (e.g. a
    bold amount inside a sentence) is kept on one line when it fits, else wrapped as plain text
    in the style's font."""

    def __init__(self, lines: Iterable[Line], style: ParagraphStyle) -> None:
        super().__init__()
        self.lines = [((line, style.fontName),) if isinstance(line, str) else line for line in lines]
        self.style = style
        self.spaceBefore, self.spaceAfter = style.spaceBefore, style.spaceAfter
        self.keepWithNext = getattr(style, "keepWithNext", 0)
        self._laid: list[tuple[Run, ...]] = []

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        size, plain = self.style.fontSize, self.style.fontName
        laid: list[tuple[Run, ...]] = []
        for runs in self.lines:
            if len(runs) == 1:
                text, font = runs[0]
                laid.extend(((part, font),) for part in simpleSplit(text, font, size, availWidth) or [""])
            elif sum(stringWidth(t, f, size) for t, f in runs) <= availWidth:
                laid.append(runs)
            else:
                text = "".join(t for t, _ in runs)
                laid.extend(((part, plain),) for part in simpleSplit(text, plain, size, availWidth) or [""])
        self._laid = laid
        self.width, self.height = availWidth, len(laid) * self.style.leading
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        """Split between lines when the block does not fit in what is left of the frame."""
        self.wrap(availWidth, availHeight)
        fit = int(availHeight // self.style.leading)
        if fit < 1 or fit >= len(self._laid):
            return []
        first, rest = TextBlock(self._laid[:fit], self.style), TextBlock(self._laid[fit:], self.style)
        rest.spaceBefore = 0
        first.spaceAfter = 0
        return [first, rest]

    def draw(self) -> None:
        canv, style = self.canv, self.style
        size = style.fontSize
        canv.setFillColor(style.textColor)
        y = self.height - getAscentDescent(style.fontName, size)[0]  # the first baseline, as Paragraph's
        for runs in self._laid:
            widths = [stringWidth(t, f, size) for t, f in runs]
            x = 0.0
            if style.alignment == TA_RIGHT:
                x = self.width - sum(widths)
            elif style.alignment == TA_CENTER:
                x = (self.width - sum(widths)) / 2
            for (text, font), width in zip(runs, widths, strict=True):
                canv.setFont(font, size)
                canv.drawString(x, y, text)
                x += width
            y -= style.leading
