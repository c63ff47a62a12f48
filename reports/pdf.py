"""The funders' dashboard as a PDF report (A4, ReportLab platypus): plain data in, bytes out.

It prints a `reports.dashboard.Dashboard`, already in the reader's language: title,
date, filters, headline figures, the dashboard's charts (drawings are flowables) and its
tables. Aggregates only, as on the page.

Arabic: Amiri for every string, each line shaped and put in visual order
(`certificates.pdf.shape_arabic`, which ReportLab cannot do itself), right-aligned, and
table columns read from the right. Latin text uses Helvetica.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from reportlab.lib.colors import HexColor, white
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from certificates.pdf import _RTL, FONT, FONT_BOLD, arabic_lines, register_fonts, shape_arabic
from reports.dashboard import Dashboard

INK = HexColor("#1b2631")
MUTED = HexColor("#4d5b69")
HEAD = HexColor("#eef2f6")
LINE = HexColor("#d5dde5")
MARGIN = 40


class _Typesetter:
    """Fonts, alignment and text shaping for one language."""

    def __init__(self, language: str):
        self.rtl = language.startswith("ar")
        if self.rtl:
            register_fonts()
            self.font, self.bold = FONT, FONT_BOLD
        else:
            self.font, self.bold = "Helvetica", "Helvetica-Bold"
        align = TA_RIGHT if self.rtl else TA_LEFT
        self.styles = {
            "title": ParagraphStyle(
                "title", fontName=self.bold, fontSize=18, leading=24, alignment=align
            ),
            "h2": ParagraphStyle(
                "h2",
                fontName=self.bold,
                fontSize=12.5,
                leading=18,
                alignment=align,
                spaceBefore=10,
                spaceAfter=4,
                textColor=INK,
            ),  # fmt: skip
            "body": ParagraphStyle(
                "body", fontName=self.font, fontSize=9.5, leading=13.5, alignment=align
            ),
            "small": ParagraphStyle(
                "small",
                fontName=self.font,
                fontSize=8.5,
                leading=11.5,
                alignment=align,
                textColor=MUTED,
            ),  # fmt: skip
            "cell": ParagraphStyle(
                "cell", fontName=self.font, fontSize=7.5, leading=9.5, alignment=align
            ),
            "head": ParagraphStyle(
                "head", fontName=self.bold, fontSize=7.5, leading=9.5, alignment=align
            ),
        }

    def text(self, value: str) -> str:
        """One line as drawn: shaped and reordered when it holds Arabic."""
        return shape_arabic(value) if _RTL.search(value) else value

    def para(self, value: str, style: str = "body", width: float | None = None) -> Paragraph:
        chosen = self.styles[style]
        if _RTL.search(value) and width:
            # Wrapped in logical order first, then each line shaped: a paragraph wrapped
            # after reordering would read its lines bottom-up.
            lines = arabic_lines(value, chosen.fontName, chosen.fontSize, width)
            return Paragraph("<br/>".join(escape(line) for line in lines), chosen)
        return Paragraph(escape(self.text(value)), chosen)

    def row(self, cells: list) -> list:
        return list(reversed(cells)) if self.rtl else cells


def _chart(series, ts: _Typesetter, width: float):
    return series.drawing(text=ts.text, rtl=ts.rtl, font=ts.font, bold_font=ts.bold, width=width)


def _grid(rows: list[list], widths: list[float], ts: _Typesetter, *, footer: bool) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1, hAlign="RIGHT" if ts.rtl else "LEFT")
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), HEAD),
        ("LINEBELOW", (0, 0), (-1, -1), 0.5, LINE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if footer:
        style.append(("LINEABOVE", (0, -1), (-1, -1), 1.2, INK))
    table.setStyle(TableStyle(style))
    return table


def _print_columns(table) -> list[tuple[str, list[int]]]:
    """The table's columns on paper: a target shares its measure's column ("36 / 40",
    headed "People / target"), so that a table by region fits a portrait page."""
    out: list[tuple[str, list[int]]] = []
    for i, (measure, label) in enumerate(table.columns):
        if measure.endswith("_target") and out and out[-1][1] == [i - 1]:
            out[-1] = (f"{out[-1][0]} / {pgettext('dashboard', 'target')}", [i - 1, i])
        else:
            out.append((label, [i]))
    return out


def _printed(row, at: list[int]) -> str:
    """A cell on paper: the actual, then " / target" when there is one."""
    actual = row.cells[at[0]].display
    if len(at) == 1:
        return actual
    target = row.cells[at[1]].display
    return f"{actual} / {target}" if target else actual


def render_dashboard_pdf(dashboard: Dashboard) -> bytes:
    ts = _Typesetter(dashboard.language)
    buffer = io.BytesIO()
    title = _("Programme progress report")
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author=_("Région 2021 study cycle"),
        invariant=True,  # no random document id: the same figures give the same file
    )
    width = doc.width
    story = [
        ts.para(title, "title", width),
        ts.para(_("Région 2021 study cycle"), "small", width),
        Spacer(0, 6),
        ts.para(_("Generated on %(date)s") % {"date": dashboard.generated_at}, "small", width),
    ]
    if dashboard.data_as_of:
        story.append(
            ts.para(
                _("Figures computed from the data on %(date)s") % {"date": dashboard.data_as_of},
                "small",
                width,
            )
        )
    for label, value in dashboard.filters:
        story.append(ts.para(f"{label}: {value}", "body", width))
    if dashboard.suppression_threshold:
        story.append(Spacer(0, 4))
        story.append(
            ts.para(
                _(
                    "To protect privacy, groups of fewer than %(n)s people are not shown: "
                    "their figures appear as “—”."
                )
                % {"n": dashboard.suppression_threshold},
                "small",
                width,
            )
        )

    for note in dashboard.notes:
        story.append(Spacer(0, 4))
        story.append(ts.para(note, "small", width))

    story.append(ts.para(_("Key figures"), "h2", width))
    cell_width = width / 3
    cells = []
    for cell in dashboard.headline:
        box = [
            ts.para(dashboard.headline_labels[cell.measure], "small", cell_width - 8),
            ts.para(cell.display, "title", cell_width - 8),
        ]
        target = dashboard.headline_targets.get(cell.measure)
        if target is not None:
            line = _("Target: %(target)s") % {"target": target.display}
            reached = dashboard.headline_reached.get(cell.measure)
            box.append(ts.para(f"{line} · {reached}" if reached else line, "small", cell_width - 8))
        cells.append(box)
    rows = [ts.row(cells[i : i + 3]) for i in range(0, len(cells), 3)]
    headline = Table(rows, colWidths=[cell_width] * 3)
    headline.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.5, LINE),
                ("INNERGRID", (0, 0), (-1, -1), 0.5, LINE),
                ("BACKGROUND", (0, 0), (-1, -1), white),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(headline)

    story.append(ts.para(_("Charts"), "h2", width))
    for series in dashboard.series:
        story.append(KeepTogether([_chart(series, ts, width), Spacer(0, 10)]))

    for table in dashboard.tables:
        columns = _print_columns(table)
        n = len(columns)
        keys = len(table.key_labels)
        # The first key (a region's name) gets room; a second one (the year) a little.
        key_widths = [width * 0.19] + [width * 0.06] * (keys - 1)
        measure_width = (width - sum(key_widths)) / n
        widths = ts.row(key_widths + [measure_width] * n)
        header = ts.row(
            [
                ts.para(label, "head", w - 6)
                for label, w in zip(table.key_labels, key_widths, strict=True)
            ]
            + [ts.para(label, "head", measure_width - 6) for label, _i in columns]
        )
        body = [
            ts.row(
                [ts.para(label, "cell") for label in row.labels]
                + [ts.para(_printed(row, at), "cell") for _label, at in columns]
            )
            for row in [*table.rows, table.totals]
        ]
        if not table.rows:
            body.insert(
                0,
                ts.row(
                    [ts.para(_("No enrolments for these filters."), "cell")] + [""] * (n + keys - 1)
                ),
            )
        heading = [ts.para(table.title, "h2", width)]
        if table.note:
            heading.append(ts.para(table.note, "small", width))
        grid = _grid([header, *body], widths, ts, footer=True)
        # A long table (region × year) may run over pages, its header repeated; a short one
        # stays with its title.
        if len(body) > 20:
            story.extend([*heading, grid])
        else:
            story.append(KeepTogether([*heading, grid]))
    doc.build(story)
    return buffer.getvalue()
