"""Completion in the admin: the rules, and each cohort's progress per participant."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from certificates import services
from certificates.models import (
    Certificate,
    CertificateBatch,
    CertificateFile,
    CohortProgress,
    CompletionRule,
)
from certificates.selectors import enrolments_progress, rule_for_cohort
from cohorts import roles
from cohorts.admin import ReadOnlyInline
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
            raise PermissionDenied
        cohort = get_object_or_404(self.get_queryset(request), pk=object_id)
        enrolments = roles.scope_enrolments(Enrolment.objects.filter(cohort=cohort), request.user)
        rows = sorted(
            enrolments_progress(enrolments),
            key=lambda r: (r.enrolment.participant.last_name, r.enrolment.participant.first_name),
        )
        if request.method == "POST" and "_issue" in request.POST:
            if not request.user.has_perm("certificates.add_certificate"):
                raise PermissionDenied
            try:
                batch = services.certificate_batch_start(cohort=cohort, by=request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(
                    request,
                    _("Issuing %(n)s certificate(s) in the background.") % {"n": batch.total},
                )
            return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "batch": CertificateBatch.objects.filter(cohort=cohort).first(),
            "issued": Certificate.objects.filter(cohort=cohort, status="issued").count(),
            "can_issue": request.user.has_perm("certificates.add_certificate"),
            "title": _("Progress: %(cohort)s") % {"cohort": cohort},
            "cohort": cohort,
            "rule": rule_for_cohort(cohort),
            "rows": rows,
            "eligible": sum(1 for r in rows if r.progress.eligible),
        }
        return TemplateResponse(request, "admin/certificates/cohort_progress.html", context)


REISSUE_REASON = gettext_lazy("Identity corrected")


class ReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


class CertificateFileInline(ReadOnlyInline):
    model = CertificateFile
    fields = ["version", "sha256", "created_at", "superseded_at", "reason", "pdf"]


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    list_display = [
        "serial",
        "participant",
        "cohort",
        "status",
        "version",
        "issued_on",
        "emailed_at",
    ]
    list_filter = ["status", "cohort__year", "participant__region", "cohort"]
    search_fields = [
        "serial",
        "verification_code",
        "participant__last_name",
        "participant__first_name",
    ]
    list_select_related = ["participant", "cohort"]
    inlines = [CertificateFileInline]
    actions = ["reissue", "reissue_current_name", "revoke"]

    def get_queryset(self, request):
        return roles.scope_enrolments(super().get_queryset(request), request.user)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Certificate._meta.fields]

    def has_add_permission(self, request):
        return False  # issued from the cohort's progress page, the API or the worker

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: a deleted certificate could no longer be verified

    def _with_reason(self, request, queryset, action, title):
        """An action that asks for a reason first, then applies the service to each row."""
        form = ReasonForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            done = 0
            for certificate in queryset:
                try:
                    action(certificate=certificate, reason=form.cleaned_data["reason"],
                           by=request.user)  # fmt: skip
                    done += 1
                except ValidationError as exc:
                    messages.error(request, f"{certificate}: {' '.join(exc.messages)}")
            messages.success(request, _("%(n)s certificate(s) updated.") % {"n": done})
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "form": form,
            "queryset": queryset,
            "action": request.POST.get("action"),
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
        }
        return TemplateResponse(request, "admin/certificates/reason_action.html", context)

    @admin.action(description=gettext_lazy("Re-issue (a new PDF, same serial)"))
    def reissue(self, request, queryset):
        return self._with_reason(request, queryset, services.certificate_reissue,
                                 _("Re-issue certificates"))  # fmt: skip

    @admin.action(description=gettext_lazy("Revoke"))
    def revoke(self, request, queryset):
        return self._with_reason(request, queryset, services.certificate_revoke,
                                 _("Revoke certificates"))  # fmt: skip

    @admin.action(description=gettext_lazy("Re-issue under the holder's current name"))
    def reissue_current_name(self, request, queryset):
        """After an identity correction: one click, no reason to type (it is the reason)."""
        done = 0
        for certificate in queryset.filter(status=Certificate.Status.ISSUED):
            services.certificate_reissue(certificate=certificate, reason=str(REISSUE_REASON),
                                         by=request.user)  # fmt: skip
            done += 1
        messages.success(request, _("%(n)s certificate(s) re-issued.") % {"n": done})

    def get_urls(self):
        return [
            path(
                "reissue-for/<int:participant_id>/",
                self.admin_site.admin_view(self.reissue_for_view),
                name="certificates_certificate_reissue_for",
            ),
            *super().get_urls(),
        ]

    def reissue_for_view(self, request, participant_id):
        """The button on a person's page (accounts.admin): their issued certificates again,
        under the name as it is now; back to their page."""
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        # Scoped as the list is: someone else's region's certificates are not found.
        queryset = self.get_queryset(request).filter(participant_id=participant_id)
        self.reissue_current_name(request, queryset)
        return HttpResponseRedirect(
            reverse("admin:cohorts_participant_change", args=[participant_id])
        )
