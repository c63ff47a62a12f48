"""Bar charts of benchmark ratios, drawn with ReportLab's graphics (SVG, no display needed)."""

from pathlib import Path

from reportlab.graphics import renderSVG
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.lib import colors


def ratio_chart(
    path: Path, title: str, labels: list[str], series: dict[str, list[float]], goal: float | None
) -> Path:
    """Draw one horizontal bar per label and series, with the goal as a vertical line."""
    height = 70 + 22 * len(labels) * max(len(series), 1)
    drawing = Drawing(620, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 190, 30, 380, height - 70
    chart.data = list(series.values())
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.fontSize = 9
    chart.valueAxis.valueMin = 0
    top = max([goal or 0, *[v for values in series.values() for v in values]]) * 1.15
    chart.valueAxis.valueMax = top
    chart.valueAxis.labels.fontSize = 8
    palette = [colors.HexColor("#2b6ca3"), colors.HexColor("#e08a1e"), colors.HexColor("#5a9e4b")]
    for index in range(len(series)):
        chart.bars[index].fillColor = palette[index % len(palette)]
    chart.barLabelFormat = "%.2f"
    chart.barLabels.fontSize = 7
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    drawing.add(chart)
    drawing.add(String(10, height - 20, title, fontSize=12, fontName="Helvetica-Bold"))
    for index, name in enumerate(series):
        drawing.add(String(10 + 200 * index, height - 38, f"■ {name}", fontSize=9,
                           fillColor=palette[index % len(palette)]))  # fmt: skip
    if goal:
        x = chart.x + chart.width * goal / top
        drawing.add(Line(x, chart.y, x, chart.y + chart.height, strokeColor=colors.red,
                         strokeDashArray=[3, 2]))  # fmt: skip
        drawing.add(String(x + 2, chart.y + chart.height + 2, f"goal {goal}", fontSize=8,
                           fillColor=colors.red))  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    renderSVG.drawToFile(drawing, str(path))
    return path
