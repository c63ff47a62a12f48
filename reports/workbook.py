"""The dashboard as an Excel workbook and as one CSV file per table.

Built from the `reports.dashboard.Dashboard` the page renders, so each sheet is the page's
table: the same rows in the same order, the same values, the same withheld cells (“—”),
the same targets. Counts are numbers, rates are numbers between 0 and 1 shown as
percentages; a withheld figure is the dash, a missing target an empty cell.

Sheets: "Notes" first (what the file is, its filters and the date of the data, the key
figures against their targets, what each measure counts, the completion rule in words,
how small groups are protected), one sheet per dashboard table, then "Charts": the
dashboard's charts as native Excel bar charts, each over a small block of its figures
where a withheld figure is an empty cell (Excel draws text as zero, a dash would read
as 0 %). In Arabic every sheet reads right to left.

CSV (one table per file): the page's table with counts as integers and rates as
percentages with one decimal (the header says "%"), the dash for a withheld figure.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import cast

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reports.dashboard import MISSING, Cell, Dashboard, Series, Table

HEADER_FILL = PatternFill("solid", fgColor="EEF2F6")
TOTAL_FONT = Font(bold=True)
MUTED = Font(color="4D5B69")
TARGET_FONT = Font(color="4D5B69", italic=True)
WRAP = Alignment(wrap_text=True, vertical="top")
COUNT_FORMAT = "#,##0"
PERCENT_FORMAT = "0%"
_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Notes:
    """What the notes sheet says beyond the dashboard itself (reports.workbook_notes)."""

    definitions: list[tuple[str, str]]  # (measure label, what it counts)
    completion_rule: str
    protection: str


# Values -----------------------------------------------------------------------------------


def cell_value(cell: Cell):
    """The cell as the workbook holds it: a number, the dash, "n/a" or empty (no target)."""
    if cell.suppressed:
        return MISSING
    if cell.value is None:
        return cell.display or None
    return cell.value


def key_value(label: str):
    """A key as the workbook holds it: a year as a number, anything else as text."""
    return int(label) if label.isdigit() else label


def csv_value(cell: Cell) -> str:
    if cell.suppressed:
        return MISSING
    if cell.value is None:
        return cell.display
    if cell.percent:
        return f"{cell.value * 100:.1f}"
    return str(cell.value)


def csv_header(table: Table) -> list[str]:
    columns = []
    for measure, label in table.columns:
        is_rate = Cell(measure, None, "").percent
        columns.append(f"{label} (%)" if is_rate else label)
    return [*table.key_labels, *columns]


def table_csv(table: Table) -> bytes:
    """One table as CSV (UTF-8 with a BOM, so that spreadsheet programs read the accents
    and the Arabic): the keys, then the measures; the totals last."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(csv_header(table))
    for row in [*table.rows, table.totals]:
        writer.writerow([*row.labels, *(csv_value(cell) for cell in row.cells)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# The workbook -----------------------------------------------------------------------------


def sheet_title(title: str, taken: set[str]) -> str:
    """A valid, unique sheet name (at most 31 characters, none of []:*?/\\)."""
    name = _SHEET_NAME.sub("-", title)[:31].strip() or "Sheet"
    base, n = name, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(name.lower())
    return name


def render_workbook(dashboard: Dashboard, notes: Notes) -> bytes:
    workbook = Workbook()
    rtl = dashboard.language.startswith("ar")
    taken: set[str] = set()
    first = cast(Worksheet, workbook.active)  # a new workbook has one sheet
    first.title = sheet_title(_("Notes"), taken)
    _notes_sheet(first, dashboard, notes)
    sheets = {}
    for table in dashboard.tables:
        sheet = workbook.create_sheet(sheet_title(table.title, taken))
        _table_sheet(sheet, table)
        sheets[table.id] = sheet
    charts = workbook.create_sheet(sheet_title(_("Charts"), taken))
    _charts_sheet(charts, dashboard.series, dashboard.tables)
    for sheet in workbook.worksheets:
        sheet.sheet_view.rightToLeft = rtl
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _notes_sheet(ws: Worksheet, dashboard: Dashboard, notes: Notes) -> None:
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 90
    ws.column_dimensions["C"].width = 18
    lines: list[tuple] = [
        (_("Programme progress report"),),
        (_("Région 2021 study cycle"),),
        (),
        (_("Generated on"), dashboard.generated_at),
        (_("Figures computed from the data on"), dashboard.data_as_of),
        *((label, value) for label, value in dashboard.filters),
        (),
        (_("Protection of small groups"), notes.protection),
        *(("", note) for note in dashboard.notes),
        (),
    ]
    for line in lines:
        ws.append(list(line))
    ws["A1"].font = Font(bold=True, size=14)

    ws.append([_("Key figures"), pgettext("dashboard", "Actual"), pgettext("dashboard", "Target")])
    _style_header(ws, ws.max_row, 3)
    for cell in dashboard.headline:
        target = dashboard.headline_targets.get(cell.measure)
        ws.append(
            [
                dashboard.headline_labels[cell.measure],
                cell_value(cell),
                cell_value(target) if target else None,
            ]
        )
        row = ws.max_row
        for column, shown in ((2, cell), (3, target)):
            if shown is not None:
                _format(ws.cell(row, column), shown)
                ws.cell(row, column).alignment = Alignment(horizontal="right")
    ws.append([])
    ws.append([_("Completion rule"), notes.completion_rule])
    ws.append([])
    ws.append([_("What each figure counts"), ""])
    _style_header(ws, ws.max_row, 2)
    for label, text in notes.definitions:
        ws.append([label, text])
    ws.append([])
    ws.append([_("Sheets"), ", ".join(t.title for t in dashboard.tables) + ", " + _("Charts")])
    for row in ws.iter_rows(min_row=2):
        for cell_ in row[:2]:
            cell_.alignment = WRAP
        if row[0].value and row[1].value is not None and row[0].row > 3:
            row[0].font = Font(bold=True)


def _style_header(ws: Worksheet, row: int, columns: int) -> None:
    for column in range(1, columns + 1):
        cell = ws.cell(row, column)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _format(target, cell: Cell) -> None:
    """Number format and look of one written cell."""
    if cell.suppressed:
        target.font = MUTED
        target.alignment = Alignment(horizontal="right")
        return
    if cell.value is not None:
        target.number_format = PERCENT_FORMAT if cell.percent else COUNT_FORMAT
    if cell.target:
        target.font = TARGET_FONT


def _table_sheet(ws: Worksheet, table: Table) -> None:
    """The table as on the page: one header row, its rows, the totals last."""
    keys = len(table.key_labels)
    ws.append([*table.key_labels, *(label for _m, label in table.columns)])
    _style_header(ws, 1, keys + len(table.columns))
    ws.row_dimensions[1].height = 45
    for row in table.rows:
        ws.append([*(key_value(k) for k in row.labels), *(cell_value(c) for c in row.cells)])
        for i, cell in enumerate(row.cells):
            _format(ws.cell(ws.max_row, keys + 1 + i), cell)
    totals = table.totals
    ws.append([*totals.labels, *(cell_value(c) for c in totals.cells)])
    last = ws.max_row
    for i in range(keys + len(table.columns)):
        ws.cell(last, i + 1).font = TOTAL_FONT
    for i, cell in enumerate(totals.cells):
        _format(ws.cell(last, keys + 1 + i), cell)
        ws.cell(last, keys + 1 + i).font = TOTAL_FONT
    ws.column_dimensions["A"].width = 30
    for i in range(2, keys + 1):
        ws.column_dimensions[get_column_letter(i)].width = 12
    for i in range(keys + 1, keys + len(table.columns) + 1):
        ws.column_dimensions[get_column_letter(i)].width = 15
    ws.freeze_panes = ws.cell(2, keys + 1)


def _charts_sheet(ws: Worksheet, series: list[Series], tables: list[Table]) -> None:
    """Each chart over a block of its figures (a withheld figure: an empty cell and the
    dash beside it), blocks one under the other, the chart to their side."""
    titles = {t.id: t.title for t in tables}
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 12
    ws.column_dimensions["C"].width = 6
    top = 1
    for chart_series in series:
        ws.cell(top, 1, chart_series.title).font = Font(bold=True)
        ws.cell(
            top + 1, 1, _("From the sheet “%(title)s”") % {"title": titles[chart_series.table_id]}
        )
        ws.cell(top + 1, 1).font = MUTED
        head = top + 2
        ws.cell(head, 1, "")
        ws.cell(head, 2, chart_series.title)
        _style_header(ws, head, 3)
        for i, (label, value) in enumerate(
            zip(chart_series.labels, chart_series.values, strict=True)
        ):
            r = head + 1 + i
            ws.cell(r, 1, key_value(label))
            if value is None:
                ws.cell(r, 3, MISSING).font = MUTED
            else:
                ws.cell(r, 2, value).number_format = (
                    PERCENT_FORMAT if chart_series.percent else COUNT_FORMAT
                )
        last = head + max(len(chart_series.labels), 1)
        chart = BarChart()
        chart.type = "col" if chart_series.vertical else "bar"
        chart.title = chart_series.title
        chart.legend = None
        chart.style = 10
        chart.add_data(Reference(ws, min_col=2, min_row=head, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=head + 1, max_row=last))
        chart.y_axis.numFmt = PERCENT_FORMAT if chart_series.percent else "General"
        if chart_series.percent:
            chart.y_axis.scaling.min = 0
            chart.y_axis.scaling.max = 1
        # Excel hides axes openpyxl does not explicitly keep.
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        if not chart_series.vertical:
            chart.x_axis.scaling.orientation = "maxMin"  # the table's order, top down
        rows = max(len(chart_series.labels), 4)
        chart.height = max(7.5, 0.55 * rows + 2.5)
        chart.width = 18
        ws.add_chart(chart, f"E{top}")
        # The next block below this chart or its figures, whichever ends lower.
        chart_rows = int(chart.height / 0.5) + 2
        top = max(last + 3, top + chart_rows)


# The notes ------------------------------------------------------------------------------


def completion_rule_text() -> str:
    """The programme's default completion rule, in words (certificates.rules)."""
    from certificates.models import CompletionRule
    from certificates.rules import ExcusedPolicy, Rule

    rule = CompletionRule.objects.filter(cohort__isnull=True).first()
    built_in = Rule()
    pct = rule.min_attendance_percent if rule else built_in.min_attendance_percent
    late = rule.late_counts_as_present if rule else built_in.late_counts_as_present
    excused = ExcusedPolicy(rule.excused_policy) if rule else built_in.excused_policy
    hours = rule.min_hours if rule else built_in.min_hours
    parts = [
        _(
            "A participant completes a cohort when they attended at least %(percent)s%% of "
            "the sessions held from their enrolment (until their withdrawal, if they left)."
        )
        % {"percent": pct}
    ]
    if hours:
        parts.append(_("They must also have attended at least %(hours)s hours.") % {"hours": hours})
    parts.append(
        _("Arriving late counts as present.") if late else _("Arriving late counts as absent.")
    )
    parts.append(
        {
            ExcusedPolicy.EXCLUDE: _("An excused absence is left out of the count."),
            ExcusedPolicy.ATTENDED: _("An excused absence counts as attended."),
            ExcusedPolicy.ABSENT: _("An excused absence counts as missed."),
        }[excused]
    )
    parts.append(
        _(
            "A session held with no attendance recorded for the person counts as not "
            "attended. Some cohorts have a rule of their own; each is applied to its cohort."
        )
    )
    return " ".join(parts)


def definitions(labels: dict[str, str]) -> list[tuple[str, str]]:
    """What each measure counts (reports.selectors), by its label on the page."""
    texts = {
        "people": _("Different people: someone enrolled in two cohorts of the group counts once."),
        "enrolled": _(
            "Enrolments, one person in one cohort: someone enrolled in two cohorts of the "
            "group counts twice."
        ),
        "withdrawn": _("Enrolments ended by a withdrawal."),
        "sessions_held": _(
            "Sessions of the group's cohorts that have started and were not cancelled, each "
            "counted once."
        ),
        "attendance_marks": _(
            "Attendance marks recorded (present, late, excused or absent) on the sessions "
            "that count."
        ),
        "attendance_rate": _(
            "Sessions attended over sessions that count for the enrolments, under each "
            "cohort's completion rule; a held session not recorded counts as not attended."
        ),
        "completion_rate": _(
            "Enrolments that meet the completion rule today, over all enrolments."
        ),
        "certificates_issued": _("Certificates issued and not revoked."),
        "women_share": _("Women's enrolments over all enrolments."),
        "targets": _(
            "What the programme set out to reach for a programme year and a region (or the "
            "whole programme). Over several years or regions, counts are added up and shares "
            "weighted by the people to be trained. An empty cell: no target was set."
        ),
        "keys": _(
            "Region: the participant's region. Year: the cohort's programme year. Calendar "
            "year (timeline): the year of the enrolment, session or certificate."
        ),
    }
    out = [(labels[m], texts[m]) for m in texts if m in labels]
    out.append((pgettext("dashboard", "Targets"), texts["targets"]))
    out.append((pgettext("dashboard", "Region, year"), texts["keys"]))
    return out


def workbook_notes(dashboard: Dashboard) -> Notes:
    if dashboard.suppression_threshold:
        protection = _(
            "Figures about fewer than %(n)s people are withheld (—), with other cells where "
            "needed so they cannot be worked out."
        ) % {"n": dashboard.suppression_threshold}
    else:
        protection = _(
            "Exact figures for the regions you manage: nothing is withheld. Do not pass them "
            "on as they are: funders get small groups withheld."
        )
    return Notes(
        definitions=definitions(dashboard.headline_labels),
        completion_rule=completion_rule_text(),
        protection=protection,
    )
