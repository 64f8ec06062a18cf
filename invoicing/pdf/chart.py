"""The bar chart of daily usage over the invoice period.

Drawn straight onto the canvas by a small Flowable: reportlab.graphics' VerticalBarChart
looked the same but cost ~20 ms per invoice (its widget tree and label objects), a
quarter of the whole render; this costs well under 1 ms.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from invoicing.model import UsageSeries
from invoicing.pdf.document import GREY, RULE, Theme

CHART_HEIGHT = 48 * mm
_LEFT = 30.0  # room for the value labels
_BOTTOM = 22.0  # room for the day labels
_TOP = 12.0  # room for the unit


class UsageChart(Flowable):  # type: ignore[misc]
    """One bar per day from `start` to `end` (inclusive); days without usage are 0."""

    def __init__(self, series: UsageSeries, start: date, end: date, width: float, theme: Theme) -> None:
        super().__init__()
        by_day = {p.day: p.quantity for p in series.points}
        self.days = [start + timedelta(n) for n in range((end - start).days + 1)]
        # floats for drawing only; the figures printed elsewhere stay Decimal
        self.values = [float(by_day.get(d, Decimal(0))) for d in self.days]
        self.unit = series.unit
        self.theme = theme
        self.width, self.height = width, CHART_HEIGHT
        self.start, self.end = start, end

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        c, t = self.canv, self.theme
        plot_w, plot_h = self.width - _LEFT - 6, self.height - _BOTTOM - _TOP
        peak = max(self.values, default=0.0)
        step = _nice_step(peak / 4)
        top = step * max(1, math.ceil(peak / step))

        c.setLineWidth(0.4)
        c.setStrokeColor(RULE)
        c.setFont(t.regular, 6.5)
        c.setFillColor(GREY)
        ticks = round(top / step)
        for i in range(ticks + 1):
            y = _BOTTOM + plot_h * i / ticks
            c.line(_LEFT, y, _LEFT + plot_w, y)
            c.drawRightString(_LEFT - 4, y - 2.2, _axis_label(step * i))
        c.drawString(0, self.height - 8, self.unit)

        slot = plot_w / max(len(self.days), 1)
        gap = min(2.0, slot * 0.2) if len(self.days) <= 40 else slot * 0.1
        label_every = max(1, -(-len(self.days) // 31))
        c.setFillColor(t.primary)
        for i, value in enumerate(self.values):
            if value > 0:
                x = _LEFT + i * slot + gap / 2
                c.rect(x, _BOTTOM, slot - gap, plot_h * value / top, stroke=0, fill=1)
        c.setFillColor(GREY)
        c.setFont(t.regular, 6)
        for i, d in enumerate(self.days):
            if i % label_every == 0:
                c.drawCentredString(_LEFT + (i + 0.5) * slot, _BOTTOM - 9, str(d.day))
        c.setStrokeColor(GREY)
        c.setLineWidth(0.6)
        c.line(_LEFT, _BOTTOM, _LEFT + plot_w, _BOTTOM)
        same_month = self.start.month == self.end.month
        month = f"{self.start:%b}" if same_month else f"{self.start:%b} – {self.end:%b}"
        c.drawRightString(self.width, 1, f"day of {month} {self.end.year}")


def usage_chart(series: UsageSeries, start: date, end: date, width: float, theme: Theme) -> UsageChart:
    return UsageChart(series, start, end, width, theme)


def _axis_label(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _nice_step(raw: float) -> float:
    """1, 2 or 5 x 10^k, at least `raw` (grid lines at round numbers)."""
    if raw <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
