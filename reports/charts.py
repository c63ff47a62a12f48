"""Bar charts as ReportLab drawings: the same drawing goes into a page (as SVG) and a PDF.

Pure functions, no database and no Django: labels and values in, a `Drawing` out. Bars
are plain shapes (one `Rect` per value shown, nothing else is a rectangle), so a chart
is easy to check and to mirror for right-to-left pages. A missing value (a group withheld
from a funder) gets no bar and a dash, never a zero-length bar that reads as zero.

Text: a PDF needs Arabic shaped and in visual order (ReportLab does neither), a browser
shapes SVG text itself and must get the logical string; hence `text`, applied to every
string drawn: identity for SVG, `certificates.pdf.shape_arabic` for a PDF in Arabic.
`svg_markup` turns a drawing into inline SVG for a page.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Callable, Sequence

from reportlab.graphics import renderSVG
from reportlab.graphics.shapes import Drawing, Group, Line, Rect, String
from reportlab.lib.colors import HexColor
from reportlab.pdfbase.pdfmetrics import stringWidth

INK = HexColor("#1b2631")  # 15:1 on white
MUTED = HexColor("#4d5b69")  # 7:1 on white
BAR = HexColor("#1f4e79")  # 8.6:1 on white
THRESHOLD = HexColor("#b3261e")  # 6.5:1 on white
BASELINE = HexColor("#8a97a5")
MISSING = "—"

_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")


def _identity(value: str) -> str:
    return value


def default_label(value: float, percent: bool) -> str:
    return f"{round(value * 100)}%" if percent else f"{value:g}"


def _scale_max(values: Sequence[float | None], percent: bool, threshold: float | None) -> float:
    if percent:
        return 1.0
    top = max([v for v in values if v is not None] + [threshold or 0, 0])
    return top or 1.0


def _fit(s: str, font: str, size: float, width: float) -> str:
    """Shorten a label to the width with an ellipsis (the full text is in the table)."""
    if stringWidth(s, font, size) <= width:
        return s
    while s and stringWidth(s + "…", font, size) > width:
        s = s[:-1]
    return s.rstrip() + "…"


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    percent: bool = False,
    threshold: float | None = None,
    threshold_label: str = "",
    value_label: Callable[[float], str] | None = None,
    text: Callable[[str], str] = _identity,
    rtl: bool = False,
    font: str = "Helvetica",
    bold_font: str = "Helvetica-Bold",
    width: float = 480,
    vertical: bool = False,
) -> Drawing:
    """A horizontal bar chart (one row per label), or vertical columns with `vertical`.

    `values` are counts, or rates between 0 and 1 with `percent` (the scale is then 0 to
    100 %). `threshold` draws a dashed line at that value (e.g. the completion rule's
    attendance percentage, as a rate). With `rtl` the chart is mirrored: labels on the
    right, bars growing leftwards (columns in reverse order).
    """
    if len(labels) != len(values):
        raise ValueError("One value per label.")
    label_of = value_label or (lambda v: default_label(v, percent))
    top = _scale_max(values, percent, threshold)
    if vertical:
        drawing = _columns(title, labels, values, top, label_of, text, rtl, font, width, threshold)
    else:
        drawing = _rows(title, labels, values, top, label_of, text, rtl, font, width, threshold)
    drawing.add(
        String(
            width - 4 if rtl else 4,
            drawing.height - 16,
            text(title),
            fontName=bold_font,
            fontSize=12,
            fillColor=INK,
            textAnchor="end" if rtl else "start",
        )
    )
    if threshold is not None and threshold_label:
        drawing.add(
            String(
                4 if rtl else width - 4,
                drawing.height - 16,
                text(threshold_label),
                fontName=font,
                fontSize=9,
                fillColor=THRESHOLD,
                textAnchor="start" if rtl else "end",
            )
        )
    return drawing


def _rows(title, labels, values, top, label_of, text, rtl, font, width, threshold) -> Drawing:
    row, size, head, foot = 24, 10.5, 30, 6
    height = head + row * max(len(labels), 1) + foot
    drawing = Drawing(width, height)
    label_width = min(190, width * 0.38)
    value_width = 44
    span = width - label_width - value_width - 16
    # x of the bars' base and the direction they grow in.
    base = width - label_width - 8 if rtl else label_width + 8
    sign = -1 if rtl else 1
    bars = Group()
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = height - head - row * (i + 1) + 4
        shown = _fit(label, font, size, label_width - 4)
        # Labels stand against the bars: right-aligned on their left, or left-aligned on
        # their right when mirrored.
        bars.add(
            String(
                width - label_width if rtl else label_width,
                y + 4,
                text(shown),
                fontName=font,
                fontSize=size,
                fillColor=INK,
                textAnchor="start" if rtl else "end",
            )
        )
        if value is None:
            caption, length = MISSING, 0.0
        else:
            length = span * max(0.0, min(value / top, 1.0)) if top else 0.0
            caption = label_of(value)
            x = base - length if rtl else base
            bars.add(Rect(x, y, length, row - 10, fillColor=BAR, strokeColor=None))
        bars.add(
            String(
                base + sign * (length + 4),
                y + 4,
                text(caption),
                fontName=font,
                fontSize=size,
                fillColor=MUTED if value is None else INK,
                textAnchor="end" if rtl else "start",
            )
        )
    drawing.add(bars)
    bottom, roof = foot, height - head + 2
    drawing.add(Line(base, bottom, base, roof, strokeColor=BASELINE, strokeWidth=1))
    if threshold is not None:
        x = base + sign * span * min(threshold / top, 1.0)
        drawing.add(
            Line(x, bottom, x, roof, strokeColor=THRESHOLD, strokeWidth=1.2, strokeDashArray=[3, 2])
        )
    return drawing


def _columns(title, labels, values, top, label_of, text, rtl, font, width, threshold) -> Drawing:
    size, head, foot, plot = 10.5, 30, 24, 120
    height = head + plot + foot + 14
    drawing = Drawing(width, height)
    n = max(len(labels), 1)
    slot = (width - 16) / n
    bar = min(56, slot * 0.6)
    base_y = foot
    order = list(zip(labels, values, strict=True))
    if rtl:
        order.reverse()
    columns = Group()
    for i, (label, value) in enumerate(order):
        centre = 8 + slot * (i + 0.5)
        columns.add(
            String(
                centre,
                base_y - 14,
                text(_fit(label, font, size, slot - 4)),
                fontName=font,
                fontSize=size,
                fillColor=INK,
                textAnchor="middle",
            )
        )
        if value is None:
            caption, length = MISSING, 0.0
        else:
            length = plot * max(0.0, min(value / top, 1.0)) if top else 0.0
            caption = label_of(value)
            columns.add(
                Rect(centre - bar / 2, base_y, bar, length, fillColor=BAR, strokeColor=None)
            )
        columns.add(
            String(
                centre,
                base_y + length + 4,
                text(caption),
                fontName=font,
                fontSize=size,
                fillColor=MUTED if value is None else INK,
                textAnchor="middle",
            )
        )
    drawing.add(columns)
    drawing.add(Line(8, base_y, width - 8, base_y, strokeColor=BASELINE, strokeWidth=1))
    if threshold is not None:
        y = base_y + plot * min(threshold / top, 1.0)
        drawing.add(
            Line(8, y, width - 8, y, strokeColor=THRESHOLD, strokeWidth=1.2, strokeDashArray=[3, 2])
        )
    return drawing


# SVG for a page -------------------------------------------------------------------------


def _browser_anchored(node) -> None:
    """Let the browser anchor text: ReportLab shifts end/middle-anchored SVG text by its own
    width of the string in the PDF font, which is wrong for a browser's font (and for Arabic,
    shaped by the browser). Right-to-left strings get their own direction, in which `start`
    is the right edge, so their anchors swap."""
    for child in getattr(node, "contents", []):
        if isinstance(child, String):
            anchor = child.textAnchor if child.textAnchor in ("end", "middle") else "start"
            attrs = {}
            if _RTL.search(child.text):
                attrs["direction"] = "rtl"
                anchor = {"start": "end", "end": "start"}.get(anchor, anchor)
            attrs["text-anchor"] = anchor
            child.textAnchor = "start"
            child._svgAttrs = attrs
        else:
            _browser_anchored(child)


def svg_markup(drawing: Drawing, *, chart_id: str, title: str, description: str = "") -> str:
    """Inline SVG for an HTML page: no XML prolog, ids unique to the chart (several charts
    share a page), an accessible name (role="img" with <title>), text in the page's font."""
    drawing = copy.deepcopy(drawing)
    _browser_anchored(drawing)
    svg = renderSVG.drawToString(
        drawing,
        svgAttrs={
            "role": "img",
            "aria-labelledby": f"{chart_id}-title",
            "id": chart_id,
            "style": "direction: ltr",
        },
    )
    svg = svg[svg.index("<svg") :]
    svg = svg.replace('id="clip"', f'id="{chart_id}-clip"')
    svg = svg.replace("url(#clip)", f"url(#{chart_id}-clip)")
    svg = svg.replace('id="group"', f'id="{chart_id}-group"')
    svg = svg.replace(
        "<title>...</title>", f'<title id="{chart_id}-title">{html.escape(title)}</title>', 1
    )
    svg = svg.replace("<desc>...</desc>", f"<desc>{html.escape(description)}</desc>", 1)
    # The page's font (an Arabic one on Arabic pages) rather than the PDF's Helvetica.
    svg = re.sub(r"font-family: [^;]*Bold;", "font-family: inherit; font-weight: bold;", svg)
    svg = re.sub(r"font-family: [^;]+;", "font-family: inherit;", svg)
    return svg
