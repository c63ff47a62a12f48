"""The funders' dashboard as plain data: headline figures, tables and chart series.

Built from the caller's cached progress reports (reports.caller), so a funder
gets small groups withheld and a manager their own regions, exactly as through the API.
Aggregates only: every row is a group (region, year, sex, role), never a person.

The page, the PDF report and the workbook (reports.workbook) all render this structure;
labels are resolved to strings in the active language when it is built.

Targets (reports.targets) sit next to the actuals they are about, as columns of their own
("Target: people trained" after "People"), for the rows a target exists for: a region,
a programme year, a region in a year, and the totals. Over several years or regions
they are combined (`reports.targets.combined`). A withheld actual keeps its target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from django.utils.formats import number_format
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from certificates.models import CompletionRule
from certificates.rules import Rule
from cohorts import roles
from cohorts.models import Participant, Region
from reports.caller import (
    cached_payload,
    caller_scope,
    progress_for_many,
    report_filters,
    report_key,
    report_payload,
)
from reports.targets import TargetValues, combined, targets

YEARS = (2018, 2019, 2020, 2021)
MISSING = "—"
FEMALE = Participant.Sex.FEMALE.value


@dataclass(frozen=True)
class Cell:
    measure: str
    value: float | int | None  # a count, or a rate between 0 and 1
    display: str
    suppressed: bool = False
    raw: str = ""  # what the numbers are made of, for data attributes: "8" or "7/8"
    target: bool = False  # a target ("people_target"), not an actual

    @property
    def percent(self) -> bool:
        """Whether the value is a rate between 0 and 1 (shown as a percentage)."""
        return self.measure.removesuffix("_target") in RATE_MEASURES


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    cells: list[Cell]
    suppressed: bool = False
    sublabels: tuple[str, ...] = ()  # the further keys' labels (region × year: the year)

    @property
    def labels(self) -> tuple[str, ...]:
        return (self.label, *self.sublabels)


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    key_label: str
    columns: list[tuple[str, str]]  # (measure, label)
    rows: list[Row]
    totals: Row
    sub_key_labels: tuple[str, ...] = ()  # the further keys' headers
    note: str = ""  # what the table counts, when it differs from the others

    @property
    def key_labels(self) -> tuple[str, ...]:
        return (self.key_label, *self.sub_key_labels)

    @property
    def width(self) -> int:
        """Its number of columns, keys included."""
        return len(self.key_labels) + len(self.columns)


@dataclass(frozen=True)
class Series:
    """One chart: labels and values (None: withheld or undefined), from one table."""

    id: str
    title: str
    table_id: str
    labels: list[str]
    values: list[float | None]
    percent: bool = False
    vertical: bool = False
    threshold: float | None = None
    threshold_label: str = ""

    def drawing(self, **style):
        """The chart, drawn by the one function the page (SVG) and the PDF share; `style`
        is the medium's: text transform, direction, fonts, width."""
        from reports.charts import bar_chart

        return bar_chart(
            self.title,
            self.labels,
            self.values,
            percent=self.percent,
            vertical=self.vertical,
            threshold=self.threshold,
            threshold_label=self.threshold_label,
            value_label=percent if self.percent else None,
            **style,
        )


@dataclass(frozen=True)
class Dashboard:
    language: str
    headline: list[Cell]
    headline_labels: dict[str, str]
    tables: list[Table]
    series: list[Series]
    suppression_threshold: int | None
    filters: list[tuple[str, str]]  # (label, value shown), for the PDF and the page
    generated_at: str = ""
    notes: list[str] = field(default_factory=list)
    # The headline's targets by measure, and how much of a count target is reached.
    headline_targets: dict[str, Cell] = field(default_factory=dict)
    headline_reached: dict[str, str] = field(default_factory=dict)
    data_as_of: str = ""  # when the figures were computed from the data (local time)

    def table(self, table_id: str) -> Table | None:
        return next((t for t in self.tables if t.id == table_id), None)


def measure_labels() -> dict[str, str]:
    # A context of their own: "Withdrawn" as a column of counts is not the status of an
    # enrolment elsewhere in the catalogue (French agrees the two differently).
    return {
        "people": pgettext("dashboard", "People"),
        "enrolled": pgettext("dashboard", "Enrolled"),
        "withdrawn": pgettext("dashboard", "Withdrawn"),
        "sessions_held": pgettext("dashboard", "Sessions held"),
        "attendance_marks": pgettext("dashboard", "Attendance marks"),
        "attendance_rate": pgettext("dashboard", "Attendance rate"),
        "completion_rate": pgettext("dashboard", "Completion rate"),
        "certificates_issued": pgettext("dashboard", "Certificates issued"),
        "women_share": pgettext("dashboard", "Women's share"),
        "people_target": pgettext("dashboard", "Target: people trained"),
        "completion_rate_target": pgettext("dashboard", "Target: completion rate"),
        "certificates_issued_target": pgettext("dashboard", "Target: certificates"),
        "women_share_target": pgettext("dashboard", "Target: women's share"),
    }


RATE_MEASURES = frozenset({"attendance_rate", "completion_rate", "women_share", "excused_rate"})

# The measure a target is about -> its field in reports.targets.TargetValues.
TARGET_FIELDS = {
    "people": "people_trained",
    "completion_rate": "completion_rate",
    "certificates_issued": "certificates",
    "women_share": "women_share",
}


TABLE_MEASURES = (
    "people",
    "enrolled",
    "withdrawn",
    "sessions_held",
    "attendance_rate",
    "completion_rate",
    "certificates_issued",
)
TIMELINE_TABLE_MEASURES = (
    "people",
    "enrolled",
    "sessions_held",
    "attendance_marks",
    "attendance_rate",
    "certificates_issued",
)
HEADLINE_MEASURES = (
    "people",
    "enrolled",
    "attendance_rate",
    "completion_rate",
    "certificates_issued",
    "women_share",
)


def percent(value: float) -> str:
    return _("%(value)s%%") % {"value": number_format(round(value * 100))}


def count(value: int) -> str:
    return number_format(value, force_grouping=True)


def _cell(measure: str, row: dict) -> Cell:
    value = row.get(measure)
    if row.get("suppressed"):
        return Cell(measure, None, MISSING, suppressed=True)
    if isinstance(value, dict):  # a rate: {value, numerator, denominator}
        raw = f"{value['numerator']}/{value['denominator']}"
        if value["value"] is None:
            return Cell(measure, None, _("n/a"), raw=raw)
        return Cell(measure, value["value"], percent(value["value"]), raw=raw)
    # Neither withheld nor a rate: a count, always an int (selectors._progress_measures).
    return Cell(measure, value, count(cast(int, value)), raw=str(value))


def _share_cell(women: int | None, enrolled: int | None, withheld: bool) -> Cell:
    if withheld or women is None or enrolled is None:
        return Cell("women_share", None, MISSING, suppressed=True)
    if not enrolled:
        return Cell("women_share", None, _("n/a"), raw=f"{women}/0")
    share = women / enrolled
    return Cell("women_share", share, percent(share), raw=f"{women}/{enrolled}")


def region_names(language: str | None = None) -> dict[str, str]:
    arabic = (language or get_language() or "fr").startswith("ar")
    return {
        code: (name_ar if arabic and name_ar else name_fr)
        for code, name_fr, name_ar in Region.objects.values_list("code", "name_fr", "name_ar")
    }


def _key_label(key: str, value, names: dict[str, str]) -> str:
    if key == "region":
        return names.get(value, value)
    if key == "sex":
        return str(Participant.Sex(value).label) if value in Participant.Sex.values else value
    if key == "role":
        return str(Participant.Role(value).label) if value in Participant.Role.values else value
    return str(value)


def _women(report: dict, key: str) -> dict:
    """Per value of `key`: (enrolled women, whether withheld), from a (key, sex) report. A
    group without a women's row has none; a withheld row makes the share unknown."""
    out: dict = {}
    for row in report["rows"]:
        women, withheld = out.get(row[key], (0, False))
        if row["sex"] == FEMALE:
            if row.get("suppressed"):
                withheld = True
            else:
                women += row["enrolled"]
        out[row[key]] = (women, withheld)
    return out


# The caller's reports, by grouping (see build_dashboard).
Reports = dict[tuple[str, ...], dict]

# Which targets a row is measured against: (year, region or None) pairs, combined.
TargetParts = list[tuple[int, str | None]]


def _key_header(key: str) -> str:
    return {
        "region": pgettext("dashboard", "Region"),
        "year": pgettext("dashboard", "Year"),
        "sex": pgettext("dashboard", "Sex"),
        "role": pgettext("dashboard", "Role"),
        "period": pgettext("dashboard", "Calendar year"),
    }[key]


def _target_cell(measure: str, values: TargetValues) -> Cell:
    value = getattr(values, TARGET_FIELDS[measure])
    name = f"{measure}_target"
    if value is None:
        return Cell(name, None, "", target=True)
    if measure in RATE_MEASURES:
        return Cell(name, value, percent(value), raw=repr(value), target=True)
    return Cell(name, value, count(value), raw=str(value), target=True)


class _Targets:
    """The targets that apply to the dashboard's rows, for these filters and this caller."""

    def __init__(self, user, *, year: int | None, region: str | None):
        self.all = targets()
        self.years = [year] if year else list(YEARS)
        scope = roles.region_scope(user) if roles.user_role(user) == "manager" else None
        # A region filter, a scoped manager's regions, or the whole programme's rows.
        self.regions: list[str | None]
        if region:
            self.regions = [region]
        elif scope is not None:
            self.regions = [*sorted(scope)]
        else:
            self.regions = [None]

    def of(self, parts: TargetParts) -> TargetValues:
        return combined(self.all.get(part) for part in parts)

    def overall(self) -> TargetValues:
        return self.of([(y, r) for y in self.years for r in self.regions])

    # The groupings whose rows targets apply to (targets are per programme year and region).
    APPLY_TO = frozenset({("region",), ("year",), ("region", "year")})

    def for_key(self, keys: tuple[str, ...], row: dict) -> TargetValues | None:
        """The target of one row of a report grouped by `keys`; None if targets do not
        apply (sex, role, a calendar year)."""
        if keys == ("region",):
            return self.of([(y, row["region"]) for y in self.years])
        if keys == ("year",):
            return self.of([(row["year"], r) for r in self.regions])
        if keys == ("region", "year"):
            return self.of([(row["year"], row["region"])])
        return None


def _with_targets(
    measures: tuple[str, ...], rows: list[list[Cell]], targets_: list[TargetValues | None]
) -> tuple[list[str], list[list[Cell]]]:
    """The measures with a target column after each that has a target in some row (the
    totals included), and the rows' cells with their targets in those columns."""
    wanted = [
        m
        for m in measures
        if m in TARGET_FIELDS
        and any(t is not None and getattr(t, TARGET_FIELDS[m]) is not None for t in targets_)
    ]
    columns: list[str] = []
    for m in measures:
        columns.append(m)
        if m in wanted:
            columns.append(f"{m}_target")
    out = []
    for cells, target in zip(rows, targets_, strict=True):
        by_measure = {c.measure: c for c in cells}
        line = []
        for name in columns:
            if name.endswith("_target"):
                line.append(_target_cell(name.removesuffix("_target"), target or _NO_TARGET))
            else:
                line.append(by_measure[name])
        out.append(line)
    return columns, out


_NO_TARGET = TargetValues(None, None, None, None)


def _table(
    reports: Reports,
    keys: tuple[str, ...],
    title: str,
    names,
    goals: _Targets,
    *,
    with_share: bool,
) -> Table:
    report = reports[keys]
    measures = TABLE_MEASURES + (("women_share",) if with_share else ())
    women = _women(reports[(keys[0], "sex")], keys[0]) if with_share else {}
    cells_of_rows: list[list[Cell]] = []
    targets_: list[TargetValues | None] = []
    for row in report["rows"]:
        cells = [_cell(m, row) for m in TABLE_MEASURES]
        if with_share:
            count_, withheld = women.get(row[keys[0]], (0, False))
            cells.append(
                _share_cell(count_, row.get("enrolled"), withheld or bool(row.get("suppressed")))
            )
        cells_of_rows.append(cells)
        targets_.append(goals.for_key(keys, row))
    totals = report["totals"]
    total_cells = [_cell(m, totals) for m in TABLE_MEASURES]
    if with_share:
        total_cells.append(_headline_share(reports, totals))
    columns, lines = _with_targets(
        measures,
        [*cells_of_rows, total_cells],
        [*targets_, goals.overall() if keys in goals.APPLY_TO else None],
    )
    labels = measure_labels()
    rows = [
        Row(
            "/".join(str(row[k]) for k in keys),
            _key_label(keys[0], row[keys[0]], names),
            cells,
            bool(row.get("suppressed")),
            tuple(_key_label(k, row[k], names) for k in keys[1:]),
        )
        for row, cells in zip(report["rows"], lines, strict=False)
    ]
    return Table(
        id="by-" + "-".join(keys),
        title=title,
        key_label=_key_header(keys[0]),
        sub_key_labels=tuple(_key_header(k) for k in keys[1:]),
        columns=[(m, labels[m]) for m in columns],
        rows=rows,
        totals=Row(
            "total",
            pgettext("dashboard", "All"),
            lines[-1],
            bool(totals.get("suppressed")),
            ("",) * (len(keys) - 1),
        ),
    )


def _timeline_table(payload: dict) -> Table:
    labels = measure_labels()
    return Table(
        id="timeline",
        title=_("Over time, by calendar year"),
        key_label=_key_header("period"),
        columns=[(m, labels[m]) for m in TIMELINE_TABLE_MEASURES],
        rows=[
            Row(
                str(row["period"]),
                str(row["period"]),
                [_cell(m, row) for m in TIMELINE_TABLE_MEASURES],
                bool(row.get("suppressed")),
            )
            for row in payload["rows"]
        ],
        totals=Row(
            "total",
            pgettext("dashboard", "All"),
            [_cell(m, payload["totals"]) for m in TIMELINE_TABLE_MEASURES],
            bool(payload["totals"].get("suppressed")),
        ),
        note=_(
            "Each figure in the calendar year it is about: enrolments by their date, sessions "
            "and attendance by the session's date, certificates by their date of issue. "
            "People: those with any of these in the year. Completion has no date and is not "
            "shown here."
        ),
    )


def timeline_for(user, *, year: int | None = None, region: str | None = None) -> dict | None:
    """The timeline by calendar year the API would give this user for the same filters
    (`GET /api/v1/reports/timeline/?period=year`), from the same cache entry; None when the
    API would refuse it: a funder's timeline is published for the whole programme only
    (reports.disclosure), never for a year or a region."""
    from reports.selectors import timeline_report

    # The shape of the API's validated query (api.views.reports.TimelineQuery).
    params: dict = {"period": "year"}
    params |= {k: v for k, v in (("year", year), ("region", region)) if v is not None}
    if not timeline_published(user, year=year, region=region):
        return None
    role, scope = caller_scope(user)
    filters = report_filters(params, scope)
    return cached_payload(
        report_key("timeline", role, scope, params),
        lambda: report_payload(timeline_report(period="year", filters=filters), role),
    )


def timeline_dashboard_table(
    user, *, year: int | None = None, region: str | None = None
) -> Table | None:
    """The dashboard's table over time alone (None where funders get none: with filters)."""
    timeline = timeline_for(user, year=year, region=region)
    return _timeline_table(timeline) if timeline else None


def timeline_published(user, *, year: int | None = None, region: str | None = None) -> bool:
    """Whether this user gets a table over time with these filters (without computing it):
    a funder's timeline is published for the whole programme only (reports.disclosure)."""
    role, _scope = caller_scope(user)
    return not (role == "funder" and (year is not None or region is not None))


def timeline_withheld_note() -> str:
    """What a funder reads where the table over time would be, with filters."""
    return _(
        "The figures over time are published for the whole programme only: clear "
        "the filters to see them."
    )


def _headline_share(reports: Reports, totals: dict) -> Cell:
    by_sex = reports[("sex",)]
    women = [row for row in by_sex["rows"] if row["sex"] == FEMALE]
    withheld = bool(totals.get("suppressed")) or any(row.get("suppressed") for row in women)
    number = sum(row["enrolled"] or 0 for row in women)
    return _share_cell(number, totals.get("enrolled"), withheld)


def reached(actual: Cell, target: Cell) -> str:
    """How much of a count target the actual reaches ("92 % of the target"), or ""."""
    if actual.value is None or not target.value or actual.percent:
        return ""
    return _("%(percent)s of the target") % {"percent": percent(actual.value / target.value)}


def attendance_threshold() -> float:
    """The programme's default rule's attendance percentage, as a rate (cohorts may have
    their own; the line is a guide, the tables have the numbers)."""
    rule = CompletionRule.objects.filter(cohort__isnull=True).first()
    percent_ = rule.min_attendance_percent if rule else Rule().min_attendance_percent
    return percent_ / 100


def _series(id_, title, table: Table, measure: str, **options) -> Series:
    index = [m for m, _label in table.columns].index(measure)
    return Series(
        id=id_,
        title=title,
        table_id=table.id,
        labels=[row.label for row in table.rows],
        values=[row.cells[index].value for row in table.rows],
        **options,
    )


# The groupings the dashboard reads: its five tables and the women's share of two of them
# (by sex alone: the headline share, and the table by sex).
DASHBOARD_GROUPINGS = [
    ["region"],
    ["region", "sex"],
    ["year"],
    ["year", "sex"],
    ["sex"],
    ["role"],
    ["region", "year"],
]


def _oldest(stamps: list[str]) -> str:
    """The earliest of ISO timestamps, in local time ("2026-12-03 09:14"), or ""."""
    from datetime import datetime

    from django.utils import timezone

    if not stamps:
        return ""
    oldest = min(datetime.fromisoformat(stamp) for stamp in stamps)
    return timezone.localtime(oldest).strftime("%Y-%m-%d %H:%M")


def build_dashboard(
    user, *, year: int | None = None, region: str | None = None, with_timeline: bool = True
) -> Dashboard:
    """Everything the dashboard shows, for this user and these filters.

    `with_timeline=False` leaves the table over time out (the page loads it on its own,
    `timeline_dashboard_table`: it reads every enrolment's marks per year, and after a
    write the page should not wait for it); the downloads have it."""
    from django.utils import timezone

    language = get_language() or "fr"
    names = region_names(language)
    filters = {"year": year, "region": region}
    # Every report the tables below read, read from the cache at once, or computed together
    # when not cached (one pass over the data after a write, instead of seven).
    reports: Reports = dict(
        zip(
            (tuple(g) for g in DASHBOARD_GROUPINGS),
            progress_for_many(user, groupings=DASHBOARD_GROUPINGS, **filters),
            strict=True,
        )
    )
    timeline = timeline_for(user, year=year, region=region) if with_timeline else None
    goals = _Targets(user, year=year, region=region)
    # The totals are over everything filtered, whatever the grouping: the by-region report
    # has them, one report fewer to compute.
    overall = reports[("region",)]
    totals = overall["totals"]
    headline = [_cell(m, totals) for m in HEADLINE_MEASURES if m != "women_share"]
    headline.append(_headline_share(reports, totals))
    overall_target = goals.overall()
    headline_targets = {
        cell.measure: _target_cell(cell.measure, overall_target)
        for cell in headline
        if cell.measure in TARGET_FIELDS
        and getattr(overall_target, TARGET_FIELDS[cell.measure]) is not None
    }
    headline_reached = {
        cell.measure: text
        for cell in headline
        if cell.measure in headline_targets
        and (text := reached(cell, headline_targets[cell.measure]))
    }

    by_region = _table(reports, ("region",), _("By region"), names, goals, with_share=True)
    by_year = _table(reports, ("year",), _("By year"), names, goals, with_share=True)
    by_sex = _table(reports, ("sex",), _("By sex"), names, goals, with_share=False)
    by_role = _table(reports, ("role",), _("By role"), names, goals, with_share=False)
    by_region_year = _table(
        reports, ("region", "year"), _("By region and year"), names, goals, with_share=False
    )

    threshold = attendance_threshold()
    series = [
        _series("chart-enrolled-region", _("Enrolment by region"), by_region, "enrolled"),
        _series(
            "chart-attendance-region",
            _("Attendance rate by region"),
            by_region,
            "attendance_rate",
            percent=True,
            threshold=threshold,
            threshold_label=_("Completion rule: %(percent)s") % {"percent": percent(threshold)},
        ),
        _series(
            "chart-completion-year",
            _("Completion rate by year"),
            by_year,
            "completion_rate",
            percent=True,
            vertical=True,
        ),
        _series(
            "chart-certificates-year",
            _("Certificates issued by year"),
            by_year,
            "certificates_issued",
            vertical=True,
        ),
        _series(
            "chart-women-region",
            _("Women's share of enrolments by region"),
            by_region,
            "women_share",
            percent=True,
        ),
    ]
    shown_filters = [
        (pgettext("dashboard", "Year"), str(year) if year else _("All years")),
        (
            pgettext("dashboard", "Region"),
            names.get(region, region) if region else _("All regions"),
        ),
    ]
    # The oldest of the reports read: every write since would have refreshed them all.
    read = [*reports.values(), *([timeline] if timeline else [])]
    computed = [r["generated_at"] for r in read if r.get("generated_at")]
    notes = []
    if not timeline_published(user, year=year, region=region):
        notes.append(timeline_withheld_note())
    return Dashboard(
        language=language,
        headline=headline,
        headline_labels=measure_labels(),
        tables=[
            by_region,
            by_year,
            by_sex,
            by_role,
            by_region_year,
            *([_timeline_table(timeline)] if timeline else []),
        ],
        series=series,
        suppression_threshold=overall["suppression_threshold"],
        filters=shown_filters,
        generated_at=timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        headline_targets=headline_targets,
        headline_reached=headline_reached,
        data_as_of=_oldest(computed),
        notes=notes,
    )
