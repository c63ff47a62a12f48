"""Completion in the admin: the rules, and each cohort's progress per participant."""

from django.contrib import admin
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from certificates.models import CohortProgress, CompletionRule
from certificates.selectors import enrolments_progress, rule_for_cohort
from cohorts import roles
from cohorts.models import Enrolment


@admin.register(CompletionRule)
class CompletionRuleAdmin(admin.ModelAdmin):
    list_display = [
        "__str__", "programme", "cohort", "min_attendance_percent", "late_counts_as_present",
        "excused_policy", "min_hours",
    ]  # fmt: skip
    list_filter = ["programme", "excused_policy"]
    autocomplete_fields = ["cohort"]

    def get_queryset(self, request):
        codes = roles.region_scope(request.user)
        qs = super().get_queryset(request).select_related("programme", "cohort")
        if codes is None:
            return qs
        # Scoped managers see the defaults and their own cohorts' rules.
        return qs.filter(Q(cohort__isnull=True) | Q(cohort__regions__in=codes)).distinct()

    def has_change_permission(self, request, obj=None):
        # The programme's default binds every cohort: only managers of all regions change it.
        if obj is not None and obj.cohort_id is None and roles.region_scope(request.user):
            return False
        return super().has_change_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "cohort":
            kwargs["queryset"] = roles.scope_cohorts(
                db_field.remote_field.model.objects.all(), request.user
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(CohortProgress)
class CohortProgressAdmin(admin.ModelAdmin):
    list_display = ["name", "year", "n_active", "progress_link"]
    list_filter = ["year", "regions"]
    search_fields = ["name", "code"]

    def get_queryset(self, request):
        qs = (
            super()
            .get_queryset(request)
            .annotate(_active=Count("enrolments", filter=Q(enrolments__status="active")))
        )
        return roles.scope_cohorts(qs, request.user)

    @admin.display(description=gettext_lazy("active enrolments"), ordering="_active")
    def n_active(self, obj):
        return obj._active

    @admin.display(description=gettext_lazy("progress"))
    def progress_link(self, obj):
        url = reverse("admin:certificates_cohortprogress_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Progress per participant"))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "<int:object_id>/change/",
                self.admin_site.admin_view(self.progress_view),
                name="certificates_cohortprogress_change",
            ),
            *super().get_urls(),
        ]

    def progress_view(self, request, object_id):
        """Each participant's rate and eligibility, from the one completion rule."""
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        cohort = get_object_or_404(self.get_queryset(request), pk=object_id)
        enrolments = roles.scope_enrolments(Enrolment.objects.filter(cohort=cohort), request.user)
        rows = sorted(
            enrolments_progress(enrolments),
            key=lambda r: (r.enrolment.participant.last_name, r.enrolment.participant.first_name),
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Progress: %(cohort)s") % {"cohort": cohort},
            "cohort": cohort,
            "rule": rule_for_cohort(cohort),
            "rows": rows,
            "eligible": sum(1 for r in rows if r.progress.eligible),
        }
        return TemplateResponse(request, "admin/certificates/cohort_progress.html", context)
