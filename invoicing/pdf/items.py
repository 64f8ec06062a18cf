"""The line-items table, drawn straight onto the canvas.

A platypus `Table` of 20 lines cost about a third of an invoice's render time (it
re-measures and styles every cell); this Flowable lays the rows out once, splits
between rows across pages with the header repeated, and draws text and rules directly.
It looks the same as the Table it replaced.
"""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.utils import simpleSplit
from reportlab.platypus import Flowable

from invoicing.pdf.document import RULE, Theme

_SIZE = 9.0  # body font size
_LEADING = 11.0
_PAD_X = 6.0
_PAD_Y = 3.0


@dataclass(frozen=True)
class Row:
    kind: str  # "group" or "line"
    texts: tuple[str, str, str, str]  # description, quantity, unit price, amount
    lines: tuple[str, ...]  # the description wrapped to the column
    height: float


class LineItems(Flowable):  # type: ignore[misc]
    """Header + rows; `col_widths` are description, quantity, unit price, amount."""

    def __init__(self, header: tuple[str, str, str, str], rows: list[Row], col_widths: list[float],
                 theme: Theme) -> None:  # fmt: skip
        super().__init__()
        self.header, self.rows, self.cols, self.theme = header, rows, col_widths, theme
        self.header_height = _SIZE + 2 * _PAD_Y + 2
        self.width = sum(col_widths)

    @classmethod
    def build(cls, header: tuple[str, str, str, str], body: list[tuple[str, tuple[str, str, str, str]]],
              col_widths: list[float], theme: Theme) -> LineItems:  # fmt: skip
        rows = []
        for kind, texts in body:
            font = theme.bold if kind == "group" else theme.regular
            size = _SIZE - 0.5 if kind == "group" else _SIZE
            lines = tuple(simpleSplit(texts[0], font, size, col_widths[0] - 2 * _PAD_X)) or ("",)
            rows.append(Row(kind, texts, lines, len(lines) * _LEADING + 2 * _PAD_Y + 1))
        return cls(header, rows, col_widths, theme)

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.height = self.header_height + sum(r.height for r in self.rows)
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        used, fit = self.header_height, 0
        for row in self.rows:
            if used + row.height > availHeight:
                break
            used += row.height
            fit += 1
        if fit < len(self.rows):
            while fit > 0 and self.rows[fit - 1].kind == "group":  # no section heading alone at the bottom
                fit -= 1
        if fit == 0 or fit == len(self.rows):
            return [] if fit == 0 else [self]
        return [LineItems(self.header, self.rows[:fit], self.cols, self.theme),
                LineItems(self.header, self.rows[fit:], self.cols, self.theme)]  # fmt: skip

    def draw(self) -> None:
        c, t = self.canv, self.theme
        right_edges = [sum(self.cols[: i + 1]) - _PAD_X for i in range(len(self.cols))]
        y = self.height
        # header
        c.setFillColor(t.primary)
        c.rect(0, y - self.header_height, self.width, self.header_height, stroke=0, fill=1)
        c.setFillColor(colors.white)
        c.setFont(t.bold, _SIZE - 0.5)
        base = y - self.header_height + _PAD_Y + 2.5
        c.drawString(_PAD_X, base, self.header[0])
        for i in (1, 2, 3):
            c.drawRightString(right_edges[i], base, self.header[i])
        y -= self.header_height
        c.setLineWidth(0.4)
        c.setStrokeColor(RULE)
        for row in self.rows:
            top, y = y, y - row.height
            if row.kind == "group":
                c.setFillColor(t.accent)
                c.rect(0, y, self.width, row.height, stroke=0, fill=1)
                c.setFillColor(t.primary)
                c.setFont(t.bold, _SIZE - 0.5)
            else:
                c.setFillColor(colors.black)
                c.setFont(t.regular, _SIZE)
            first = top - _PAD_Y - _SIZE
            for n, text in enumerate(row.lines):
                c.drawString(_PAD_X, first - n * _LEADING, text)
            middle = y + (row.height - _SIZE) / 2 + 1.5  # numbers centred vertically, like the Table did
            for i in (1, 2, 3):
                if row.texts[i]:
                    c.drawRightString(right_edges[i], middle, row.texts[i])
            c.line(0, y, self.width, y)
