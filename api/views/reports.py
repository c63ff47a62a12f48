"""Progress reports for funders and managers: aggregates only, cached, CSV/XLSX on request.

Funders get the published tables only (every combination of region, year, sex and role,
protected together: see reports.disclosure); managers see their own regions without
suppression (they may see the people anyway).
A cached report is keyed by the reports' generation, which every write bumps, so a
report is never stale after a write.
"""

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from api.permissions import IsManagerOrFunder
from api.renderers import CSVRenderer, XLSXRenderer
from reports.caller import (
    cached_payload,
    caller_scope,
    funder_answer,
    report_filters,
    report_key,
    report_payload,
)
from reports.disclosure import NotPublished, table_for
from reports.selectors import GROUP_KEYS, progress_report, timeline_report


class ReportQuery(serializers.Serializer):
    group_by = serializers.CharField(required=False, allow_blank=True, default="")
    year = serializers.IntegerField(required=False, min_value=2000, max_value=2100)
    region = serializers.RegexField(r"^MA-(0[1-9]|1[0-2])$", required=False)
    cohort = serializers.IntegerField(required=False, min_value=1)

    def validate_group_by(self, value):
        keys = [k.strip() for k in value.split(",") if k.strip()]
        unknown = [k for k in keys if k not in GROUP_KEYS]
        if unknown:
            raise serializers.ValidationError(
                _("Unknown grouping: %(keys)s. Use any of: %(allowed)s.")
                % {"keys": ", ".join(unknown), "allowed": ", ".join(GROUP_KEYS)}
            )
        if len(set(keys)) != len(keys):
            raise serializers.ValidationError(_("A grouping appears twice."))
        return keys


class TimelineQuery(ReportQuery):
    # DRF's way to drop an inherited field (SerializerMetaclass); the stubs don't model it.
    group_by = None  # type: ignore[assignment]
    period = serializers.ChoiceField(choices=["month", "year"], default="month")


ReportResponse = inline_serializer(
    "Report",
    {
        "group_by": serializers.ListField(child=serializers.CharField()),
        "suppression_threshold": serializers.IntegerField(allow_null=True),
        "generated_at": serializers.DateTimeField(),
        "rows": serializers.ListField(
            child=serializers.DictField(),
            help_text="Group keys and measures; rates are {value, numerator, denominator}; "
            "for funders, small groups have null measures and suppressed: true.",
        ),
        "totals": serializers.DictField(),
    },
)

_FILTER_PARAMETERS = [
    OpenApiParameter("year", int, description="Programme year (2018–2021)."),
    OpenApiParameter("region", str, description="Region ISO code, MA-01 to MA-12."),
    OpenApiParameter("cohort", int, description="Cohort id."),
    OpenApiParameter("format", str, enum=["json", "csv", "xlsx"], description="Output format."),
]


class _Report(APIView):
    permission_classes = [IsManagerOrFunder]
    renderer_classes = [JSONRenderer, CSVRenderer, XLSXRenderer]
    query_class = ReportQuery
    kind = "progress"

    def build(self, query, filters):
        raise NotImplementedError

    def get(self, request):
        query = self.query_class(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        role, scope = caller_scope(request.user)
        if role == "funder":
            self.check_published(params)
        filters = report_filters(params, scope)
        key = report_key(self.kind, role, scope, params)
        fmt = getattr(request.accepted_renderer, "format", "json")
        # The rendered bytes are cached too (by format and language, which change the
        # headers of CSV and Excel files): a hit is then one cache read, no re-encoding.
        rendered_key = f"{key}:{fmt}:{get_language()}"
        rendered = cache.get(rendered_key)
        if rendered is None:
            data = cached_payload(key, lambda: self.compute(params, filters, role))
            renderer = request.accepted_renderer
            body = renderer.render(data, request.accepted_media_type, self.get_renderer_context())
            content_type = renderer.media_type + (
                f"; charset={renderer.charset}" if renderer.charset else ""
            )
            rendered = (content_type, body)
            cache.set(rendered_key, rendered, settings.REPORT_CACHE_SECONDS)
        content_type, body = rendered
        response = HttpResponse(body, content_type=content_type)
        if fmt in {"csv", "xlsx"}:
            stamp = timezone.localdate().isoformat()
            response["Content-Disposition"] = (
                f'attachment; filename="{self.kind}-report-{stamp}-{get_language()}.{fmt}"'
            )
        return response

    def compute(self, params, filters, role) -> dict:
        return report_payload(self.build(params, filters), role)

    def check_published(self, params) -> None:
        """Funders get the published tables only (reports.disclosure): a 400 otherwise."""


class ProgressReport(_Report):
    kind = "progress"

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "group_by",
                str,
                description="Comma-separated: any of region, year, sex, role, cohort.",
                examples=[OpenApiExample("By region and sex", value="region,sex")],
            ),
            *_FILTER_PARAMETERS,
        ],
        responses={200: ReportResponse},
        summary="Progress report: enrolment, attendance, completion, certificates by group",
    )
    def get(self, request):
        return super().get(request)

    def build(self, params, filters):
        return progress_report(group_by=params["group_by"], filters=filters)

    def check_published(self, params) -> None:
        try:
            table_for(params["group_by"], {k: params.get(k) for k in ("year", "region", "cohort")})
        except NotPublished:
            raise serializers.ValidationError(
                {
                    "group_by": [
                        _(
                            "Funders' figures are published by region, year, sex and role "
                            "(any combination, with year and region filters); a cohort is "
                            "too small a group to publish."
                        )
                    ]
                }
            ) from None

    def compute(self, params, filters, role) -> dict:
        if role == "funder":
            return funder_answer(
                group_by=params["group_by"], year=params.get("year"), region=params.get("region")
            )
        return super().compute(params, filters, role)


class TimelineReport(_Report):
    kind = "timeline"
    query_class = TimelineQuery

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, enum=["month", "year"], description="Period."),
            *_FILTER_PARAMETERS,
        ],
        responses={200: ReportResponse},
        summary="The same measures per month or per year, for charts",
    )
    def get(self, request):
        return super().get(request)

    def build(self, params, filters):
        return timeline_report(period=params["period"], filters=filters)

    def check_published(self, params) -> None:
        if any(params.get(k) is not None for k in ("year", "region", "cohort")):
            raise serializers.ValidationError(
                {
                    "period": [
                        _(
                            "Funders' timeline is published for the whole programme: "
                            "leave out the year, region and cohort filters."
                        )
                    ]
                }
            )
