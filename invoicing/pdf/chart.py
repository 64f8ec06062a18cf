"""The bar chart of daily usage over the invoice period (reportlab.graphics)."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib.units import mm

from invoicing.model import UsageSeries
from invoicing.pdf.document import GREY, RULE, Theme

CHART_HEIGHT = 48 * mm


def usage_chart(series: UsageSeries, start: date, end: date, width: float, theme: Theme) -> Drawing:
    """One bar per day from `start` to `end` (inclusive); days without usage are 0."""
    by_day = {p.day: p.quantity for p in series.points}
    days = [start + timedelta(n) for n in range((end - start).days + 1)]
    # floats for drawing only; the figures printed elsewhere stay Decimal
    values = [float(by_day.get(d, Decimal(0))) for d in days]
    step = max(1, -(-len(days) // 31))  # label at most ~31 days
    labels = [str(d.day) if i % step == 0 else "" for i, d in enumerate(days)]

    drawing = Drawing(width, CHART_HEIGHT)
    chart = VerticalBarChart()
    chart.x, chart.y = 30, 22
    chart.width, chart.height = width - 36, CHART_HEIGHT - 34
    chart.data = [values]
    chart.barSpacing = 0
    chart.groupSpacing = 2 if len(days) <= 40 else 0.5
    chart.bars[0].fillColor = theme.primary
    chart.bars[0].strokeColor = None
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.fontName = theme.regular
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.dy = -2
    chart.categoryAxis.strokeColor = GREY
    chart.categoryAxis.tickDown = 0
    chart.valueAxis.valueMin = 0
    step_value = _nice_step(max(values, default=0.0) / 4)
    chart.valueAxis.valueStep = step_value
    chart.valueAxis.valueMax = step_value * max(1, math.ceil(max(values, default=0.0) / step_value))
    chart.valueAxis.labels.fontName = theme.regular
    chart.valueAxis.labels.fontSize = 6.5
    chart.valueAxis.labelTextFormat = _axis_label
    chart.valueAxis.strokeColor = None
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = RULE
    chart.valueAxis.gridStrokeWidth = 0.4
    drawing.add(chart)
    drawing.add(String(0, CHART_HEIGHT - 8, series.unit, fontName=theme.regular, fontSize=7, fillColor=GREY))
    month = f"{start:%b}" if start.month == end.month else f"{start:%b} – {end:%b}"
    drawing.add(String(width, 1, f"day of {month} {end.year}", fontName=theme.regular, fontSize=6.5,
                       fillColor=GREY, textAnchor="end"))  # fmt: skip
    return drawing


def _axis_label(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _nice_step(raw: float) -> float:
    """1, 2 or 5 x 10^k, at least `raw` (grid lines at round numbers)."""
    if raw <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
