"""The funders' dashboard (also open to programme managers) and its PDF report.

Aggregates only, from the same cached reports as the API: funders see every region with
small groups withheld, managers their own regions in full (reports.dashboard).
"""

import hashlib
from typing import cast
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from cohorts import roles
from reports.charts import svg_markup
from reports.dashboard import (
    YEARS,
    build_dashboard,
    region_names,
    timeline_dashboard_table,
    timeline_published,
    timeline_withheld_note,
)
from reports.pdf import render_dashboard_pdf
from reports.workbook import render_workbook, table_csv, workbook_notes
from web.access import role_required


class DashboardFilters(forms.Form):
    year = forms.TypedChoiceField(
        label=pgettext_lazy("dashboard", "Year"), required=False, coerce=int, empty_value=None
    )
    region = forms.ChoiceField(label=pgettext_lazy("dashboard", "Region"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        year = cast(forms.TypedChoiceField, self.fields["year"])  # declared above
        year.choices = [("", _("All years")), *((y, str(y)) for y in YEARS)]
        scope = roles.region_scope(user) if roles.user_role(user) == "manager" else None
        names = region_names()
        codes = sorted(names) if scope is None else sorted(c for c in names if c in scope)
        region = cast(forms.ChoiceField, self.fields["region"])  # declared above
        region.choices = [("", _("All regions")), *((c, names[c]) for c in codes)]

    def values(self) -> dict:
        """The valid filters; a bad one is reported on the form and left out."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {"year": data.get("year") or None, "region": data.get("region") or None}


def _filters(request) -> tuple[DashboardFilters, dict]:
    form = DashboardFilters(request.GET or None, user=request.user)
    return form, form.values() if request.GET else {"year": None, "region": None}


def _query(values: dict, **extra) -> str:
    return urlencode({**{k: v for k, v in values.items() if v}, **extra})


def _with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


def _attachment(response: HttpResponse, stem: str, language: str, extension: str) -> HttpResponse:
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="{stem}-{stamp}-{language}.{extension}"'
    )
    return response


def _chart_svg(series, rtl: bool) -> str:
    """A chart's SVG, drawn once per distinct content: after a write most charts show the
    same figures (a roster changes attendance, not enrolment or certificates), and drawing
    five charts with ReportLab is a good part of the page's time. Keyed by everything the
    drawing reads (the series, the direction and the language)."""
    content = repr((series, rtl, get_language()))
    key = "chart-svg:" + hashlib.sha256(content.encode()).hexdigest()
    svg = cache.get(key)
    if svg is None:
        svg = svg_markup(series.drawing(rtl=rtl), chart_id=series.id, title=series.title)
        cache.set(key, svg, settings.REPORT_CACHE_SECONDS)
    return svg


@role_required("funder", "manager")
def funder_dashboard(request):
    form, values = _filters(request)
    # The table over time comes after the page (`funder_timeline`), see build_dashboard.
    dashboard = build_dashboard(request.user, **values, with_timeline=False)
    rtl = get_language() == "ar"
    charts = [{"series": series, "svg": _chart_svg(series, rtl)} for series in dashboard.series]
    # Every download is the page itself in another format: the same filters, the same
    # dashboard (built the same way from the same cached reports), the same language.
    query = _query(values)
    downloads = {
        "pdf": _with_query(reverse("web:funder-report-pdf"), query),
        "xlsx": _with_query(reverse("web:funder-workbook"), query),
    }
    tables = [
        (table, _with_query(reverse("web:funder-table-csv", args=[table.id]), query))
        for table in dashboard.tables
    ]
    timeline_url = (
        _with_query(reverse("web:funder-timeline"), query)
        if timeline_published(request.user, **values)
        else None
    )
    return render(
        request,
        "web/funder/dashboard.html",
        {
            "form": form,
            "timeline_url": timeline_url,
            "timeline_csv_url": _with_query(
                reverse("web:funder-table-csv", args=["timeline"]), query
            ),
            "dashboard": dashboard,
            "charts": charts,
            "downloads": downloads,
            "tables": tables,
            "headline": [
                (
                    cell,
                    dashboard.headline_labels[cell.measure],
                    dashboard.headline_targets.get(cell.measure),
                    dashboard.headline_reached.get(cell.measure, ""),
                )
                for cell in dashboard.headline
            ],
        },
    )


@role_required("funder", "manager")
def funder_timeline(request):
    """The dashboard's table over time, on its own page (the dashboard loads it from here)."""
    _form, values = _filters(request)
    table = timeline_dashboard_table(request.user, **values)
    query = _query(values)
    return render(
        request,
        "web/funder/timeline.html",
        {
            "table": table,
            "note": timeline_withheld_note(),
            "csv_url": _with_query(reverse("web:funder-table-csv", args=["timeline"]), query),
            "dashboard_url": _with_query(reverse("web:funder-dashboard"), query),
        },
    )


@role_required("funder", "manager")
def funder_report_pdf(request):
    _form, values = _filters(request)
    dashboard = build_dashboard(request.user, **values)
    body = render_dashboard_pdf(dashboard)
    response = HttpResponse(body, content_type="application/pdf")
    return _attachment(response, "progress-report", dashboard.language, "pdf")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@role_required("funder", "manager")
def funder_workbook(request):
    """The dashboard as an Excel workbook: a sheet per table, charts, notes."""
    _form, values = _filters(request)
    dashboard = build_dashboard(request.user, **values)
    body = render_workbook(dashboard, workbook_notes(dashboard))
    return _attachment(
        HttpResponse(body, content_type=XLSX), "progress-report", dashboard.language, "xlsx"
    )


@role_required("funder", "manager")
def funder_table_csv(request, table_id: str):
    """One of the dashboard's tables as CSV."""
    _form, values = _filters(request)
    dashboard = build_dashboard(request.user, **values)
    table = dashboard.table(table_id)
    if table is None:
        raise Http404
    response = HttpResponse(table_csv(table), content_type="text/csv; charset=utf-8")
    return _attachment(response, f"progress-{table.id}", dashboard.language, "csv")


urlpatterns = [
    path("dashboard/", funder_dashboard, name="funder-dashboard"),
    path("dashboard/timeline/", funder_timeline, name="funder-timeline"),
    path("dashboard/report.pdf", funder_report_pdf, name="funder-report-pdf"),
    path("dashboard/report.xlsx", funder_workbook, name="funder-workbook"),
    path("dashboard/tables/<slug:table_id>.csv", funder_table_csv, name="funder-table-csv"),
]
