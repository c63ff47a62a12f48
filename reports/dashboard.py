"""The funders' dashboard as plain data: headline figures, tables and chart series.

Built from the caller's cached progress reports (reports.caller), so a funder
gets small groups withheld and a manager their own regions, exactly as through the API.
Aggregates only: every row is a group (region, year, sex, role), never a person.

The page and the PDF report both render this structure; labels are resolved to strings in
the active language when it is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from django.utils.formats import number_format
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from certificates.models import CompletionRule
from certificates.rules import Rule
from cohorts.models import Participant, Region
from reports.caller import progress_for_many

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


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    cells: list[Cell]
    suppressed: bool = False


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    key_label: str
    columns: list[tuple[str, str]]  # (measure, label)
    rows: list[Row]
    totals: Row


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


def measure_labels() -> dict[str, str]:
    # A context of their own: "Withdrawn" as a column of counts is not the status of an
    # enrolment elsewhere in the catalogue (French agrees the two differently).
    return {
        "people": pgettext("dashboard", "People"),
        "enrolled": pgettext("dashboard", "Enrolled"),
        "withdrawn": pgettext("dashboard", "Withdrawn"),
        "sessions_held": pgettext("dashboard", "Sessions held"),
        "attendance_rate": pgettext("dashboard", "Attendance rate"),
        "completion_rate": pgettext("dashboard", "Completion rate"),
        "certificates_issued": pgettext("dashboard", "Certificates issued"),
        "women_share": pgettext("dashboard", "Women's share"),
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


def _table(reports: Reports, key, title, names, *, with_share: bool) -> Table:
    report = reports[(key,)]
    columns = [(m, measure_labels()[m]) for m in TABLE_MEASURES]
    women = {}
    if with_share:
        columns.append(("women_share", measure_labels()["women_share"]))
        women = _women(reports[(key, "sex")], key)
    rows = []
    for row in report["rows"]:
        cells = [_cell(m, row) for m in TABLE_MEASURES]
        if with_share:
            count_, withheld = women.get(row[key], (0, False))
            cells.append(
                _share_cell(count_, row.get("enrolled"), withheld or bool(row.get("suppressed")))
            )
        rows.append(
            Row(str(row[key]), _key_label(key, row[key], names), cells, bool(row.get("suppressed")))
        )
    totals = report["totals"]
    total_cells = [_cell(m, totals) for m in TABLE_MEASURES]
    if with_share:
        total_cells.append(_headline_share(reports, totals))
    return Table(
        id=f"by-{key}",
        title=title,
        key_label={
            "region": pgettext("dashboard", "Region"),
            "year": pgettext("dashboard", "Year"),
            "sex": pgettext("dashboard", "Sex"),
            "role": pgettext("dashboard", "Role"),
        }[key],
        columns=columns,
        rows=rows,
        totals=Row(
            "total", pgettext("dashboard", "All"), total_cells, bool(totals.get("suppressed"))
        ),
    )


def _headline_share(reports: Reports, totals: dict) -> Cell:
    by_sex = reports[("sex",)]
    women = [row for row in by_sex["rows"] if row["sex"] == FEMALE]
    withheld = bool(totals.get("suppressed")) or any(row.get("suppressed") for row in women)
    number = sum(row["enrolled"] or 0 for row in women)
    return _share_cell(number, totals.get("enrolled"), withheld)


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


# The groupings the dashboard reads: its four tables and the women's share of two of them
# (by sex alone: the headline share, and the table by sex).
DASHBOARD_GROUPINGS = [["region"], ["region", "sex"], ["year"], ["year", "sex"], ["sex"], ["role"]]


def build_dashboard(user, *, year: int | None = None, region: str | None = None) -> Dashboard:
    """Everything the dashboard shows, for this user and these filters."""
    from django.utils import timezone

    language = get_language() or "fr"
    names = region_names(language)
    filters = {"year": year, "region": region}
    # Every report the tables below read, read from the cache at once, or computed together
    # when not cached (one pass over the data after a write, instead of six).
    reports: Reports = dict(
        zip(
            (tuple(g) for g in DASHBOARD_GROUPINGS),
            progress_for_many(user, groupings=DASHBOARD_GROUPINGS, **filters),
            strict=True,
        )
    )
    # The totals are over everything filtered, whatever the grouping: the by-region report
    # has them, one report fewer to compute.
    overall = reports[("region",)]
    totals = overall["totals"]
    headline = [_cell(m, totals) for m in HEADLINE_MEASURES if m != "women_share"]
    headline.append(_headline_share(reports, totals))

    by_region = _table(reports, "region", _("By region"), names, with_share=True)
    by_year = _table(reports, "year", _("By year"), names, with_share=True)
    by_sex = _table(reports, "sex", _("By sex"), names, with_share=False)
    by_role = _table(reports, "role", _("By role"), names, with_share=False)

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
    return Dashboard(
        language=language,
        headline=headline,
        headline_labels=measure_labels(),
        tables=[by_region, by_year, by_sex, by_role],
        series=series,
        suppression_threshold=overall["suppression_threshold"],
        filters=shown_filters,
        generated_at=timezone.localtime().strftime("%Y-%m-%d %H:%M"),
    )
