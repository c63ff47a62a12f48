"""The programme managers' admin: lists, the attendance roster, imports and exports.

Every list and every choice is filtered by the manager's region scope (`cohorts.roles`).
Writes go through `cohorts.services`, so the admin records the same history as the API.
"""

from collections.abc import Callable
from typing import Any, TypedDict

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.signing import BadSignature, Signer
from django.db.models import Count, Q, QuerySet
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cohorts import roles, services
from cohorts.errors import LineErrors
from cohorts.exports import enrolments_table, participants_table
from cohorts.imports import COLUMNS, participants_import
from cohorts.models import (
    Attendance,
    AttendanceHistory,
    Cohort,
    Enrolment,
    EnrolmentHistory,
    FunderProfile,
    ManagerProfile,
    Notification,
    Organisation,
    Participant,
    Programme,
    Region,
    Signatory,
    TrainingSession,
)
from cohorts.selectors import cohort_roster
from cohorts.tables import write_csv, write_xlsx
from cohorts.validation import (
    enrolment_date_error,
    minutes_attended_error,
    session_minutes,
    validate_cohort_year,
    validate_session_dates,
)

# Scoping ------------------------------------------------------------------------------

_SCOPES = {
    Region: roles.scope_regions,
    Participant: roles.scope_participants,
    Cohort: roles.scope_cohorts,
    TrainingSession: roles.scope_sessions,
    Enrolment: roles.scope_enrolments,
    Attendance: roles.scope_attendance,
}


class ScopedAdmin(admin.ModelAdmin):
    """Show a manager only their regions' rows, and offer only those in every choice."""

    def get_queryset(self, request):
        return _SCOPES[self.model](super().get_queryset(request), request.user)

    def _limit(self, db_field, request, kwargs):
        model = db_field.remote_field.model
        if model in _SCOPES and "queryset" not in kwargs:
            kwargs["queryset"] = _SCOPES[model](model._default_manager.all(), request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        self._limit(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        self._limit(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


def _download(content: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _export(table, basename: str, fmt: str) -> HttpResponse:
    header, rows = table
    stamp = timezone.localdate().isoformat()
    if fmt == "xlsx":
        return _download(
            write_xlsx(header, rows, basename),
            f"{basename}-{stamp}.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    return _download(write_csv(header, rows), f"{basename}-{stamp}.csv", "text/csv; charset=utf-8")


class ExportActions:
    """Admin actions that download the selected rows as CSV or Excel."""

    # A function from a queryset to (header, rows); each subclass sets it.
    export_table: Callable[[QuerySet[Any]], tuple[list[str], list[list]]]
    export_name = "export"

    @admin.action(description=gettext_lazy("Export the selection (CSV)"))
    def export_csv(self, request, queryset):
        return _export(self.export_table(queryset), self.export_name, "csv")

    @admin.action(description=gettext_lazy("Export the selection (Excel)"))
    def export_xlsx(self, request, queryset):
        return _export(self.export_table(queryset), self.export_name, "xlsx")


class ReadOnlyInline(admin.TabularInline):
    """Rows shown for reference under their parent: no adding, changing or deleting."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


# Reference data -----------------------------------------------------------------------


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name_fr", "name_ar", "capital"]
    search_fields = ["code", "name_fr", "name_ar", "capital"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["short_name", "name", "kind", "country"]
    list_filter = ["kind", "country"]
    search_fields = ["short_name", "name"]


class SignatoryInline(admin.TabularInline):
    """Who signs the programme's certificates (the left and right signature lines)."""

    model = Signatory
    extra = 0
    max_num = len(Signatory.Line)
    fields = ["line", "name_fr", "title_fr", "name_ar", "title_ar"]


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "start_date", "end_date"]
    filter_horizontal = ["partners"]
    inlines = [SignatoryInline]


@admin.register(ManagerProfile)
class ManagerProfileAdmin(admin.ModelAdmin):
    list_display = ["account", "all_regions", "regions_list"]
    filter_horizontal = ["regions"]
    autocomplete_fields = ["user"]

    @admin.display(description=gettext_lazy("user account"), ordering="user__username")
    def account(self, obj):
        return obj.user

    @admin.display(description=gettext_lazy("regions"))
    def regions_list(self, obj):
        return ", ".join(r.code for r in obj.regions.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("regions")


@admin.register(FunderProfile)
class FunderProfileAdmin(admin.ModelAdmin):
    list_display = ["account", "organisation", "monthly_report", "language"]
    list_filter = ["organisation", "monthly_report"]
    autocomplete_fields = ["user"]

    @admin.display(description=gettext_lazy("user account"), ordering="user__username")
    def account(self, obj):
        return obj.user


# Participants -------------------------------------------------------------------------


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"), help_text=gettext_lazy("CSV (UTF-8) or Excel (.xlsx)")
    )


class EnrolmentInline(ReadOnlyInline):
    model = Enrolment
    fields = ["cohort", "status", "enrolled_on", "withdrawn_on", "withdrawal_reason"]
    show_change_link = True


class MessageInline(ReadOnlyInline):
    """The messages to the person, latest first: what went, what failed and the server's
    answer (the outbox's own page sends a failed one again)."""

    model = Notification
    fields = ["created_at", "kind", "status", "address", "attempts", "sent_at", "last_error"]
    ordering = ["-created_at", "-id"]
    show_change_link = True
    verbose_name_plural = gettext_lazy("messages")

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Participant)
class ParticipantAdmin(ExportActions, ScopedAdmin):
    export_table = staticmethod(participants_table)
    export_name = "participants"
    list_display = ["name", "name_ar", "region", "role", "sex", "email", "language"]
    list_filter = [
        "region",
        "role",
        "sex",
        "preferred_language",
        ("enrolments__cohort__year", admin.AllValuesFieldListFilter),
        "enrolments__cohort",
    ]
    search_fields = ["last_name", "first_name", "last_name_ar", "first_name_ar", "email", "phone"]
    list_select_related = ["region"]
    inlines = [EnrolmentInline, MessageInline]
    # accounts.admin adds the invitation action (accounts sits above cohorts).
    actions = ["export_csv", "export_xlsx"]
    change_list_template = "admin/cohorts/participant/change_list.html"
    fieldsets = [
        (None, {"fields": [("first_name", "last_name"), ("first_name_ar", "last_name_ar")]}),
        (gettext_lazy("Profile"), {"fields": ["sex", "role", "position", "region"]}),
        (
            gettext_lazy("Contact"),
            {"fields": ["email", "phone", "preferred_language", "consent_date", "user"]},
        ),
    ]
    raw_id_fields = ["user"]

    # Model properties have no translated header of their own: give them one.
    @admin.display(description=gettext_lazy("full name"), ordering="last_name")
    def name(self, obj):
        return obj.full_name

    @admin.display(description=gettext_lazy("full name (Arabic)"), ordering="last_name_ar")
    def name_ar(self, obj):
        return obj.full_name_ar

    def get_inlines(self, request, obj):
        # Not on the "add" page: a person not yet saved has no messages (and the page's
        # form then needs no part for them).
        return self.inlines if obj is not None else [EnrolmentInline]

    @admin.display(description=gettext_lazy("language"), ordering="preferred_language")
    def language(self, obj):
        return obj.get_preferred_language_display()

    def get_queryset(self, request):
        # Filtering on cohorts joins enrolments; distinct keeps one row per person.
        return super().get_queryset(request).distinct()

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        if change:
            services.participant_update(participant=obj, **fields)
        else:
            created = services.participant_create(
                **{k: v for k, v in form.cleaned_data.items() if k in form.fields}
            )
            obj.pk = created.pk

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="cohorts_participant_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """Upload → preview (the import run and rolled back) → confirm (run and kept)."""
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import participants"),
            "columns": COLUMNS,
        }
        signer = Signer(salt=f"participants-import:{request.user.pk}")
        if request.method == "POST" and "token" in request.POST:
            try:
                stored = signer.unsign(request.POST["token"])
            except BadSignature as exc:
                raise PermissionDenied from exc
            if not default_storage.exists(stored):
                messages.error(request, _("This import has expired; upload the file again."))
                return HttpResponseRedirect(request.path)
            with default_storage.open(stored, "rb") as handle:
                content = handle.read()
            try:
                result = participants_import(
                    name=stored, content=content, user=request.user, commit=True
                )
            except LineErrors as exc:
                context.update(form=ImportForm(), errors=exc.errors)
                return TemplateResponse(request, "admin/cohorts/participant/import.html", context)
            default_storage.delete(stored)
            messages.success(
                request,
                _("Import done: %(created)s created, %(updated)s updated, %(enrolled)s enrolled.")
                % vars(result),
            )
            return HttpResponseRedirect(reverse("admin:cohorts_participant_changelist"))

        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            content = upload.read()
            try:
                result = participants_import(
                    name=upload.name, content=content, user=request.user, commit=False
                )
            except LineErrors as exc:
                context["errors"] = exc.errors
            else:
                suffix = ".xlsx" if upload.name.lower().endswith(".xlsx") else ".csv"
                stored = default_storage.save(
                    f"imports/{get_random_string(24)}{suffix}", ContentFile(content)
                )
                context.update(result=result, token=signer.sign(stored), filename=upload.name)
        context["form"] = form
        return TemplateResponse(request, "admin/cohorts/participant/import.html", context)


# Cohorts and sessions -----------------------------------------------------------------


class CohortForm(forms.ModelForm):
    class Meta:
        model = Cohort
        fields = [
            "programme", "code", "name", "name_ar", "name_en", "year", "starts_on", "ends_on",
            "regions",
        ]  # fmt: skip

    def clean(self):
        super().clean()  # returns `self.cleaned_data`
        data = self.cleaned_data
        if data.get("programme") and data.get("year"):
            try:
                validate_cohort_year(data["programme"], data["year"])
            except ValidationError as exc:
                self.add_error(None, exc)
        return data


class EnrolmentDateForm(forms.ModelForm):
    """A new enrolment's date must fall within its cohort's dates (said here, on the
    field, rather than by the service once the form has passed)."""

    def clean(self):
        super().clean()  # returns `self.cleaned_data`
        data = self.cleaned_data
        cohort = data.get("cohort")
        if cohort is None:
            try:
                cohort = self.instance.cohort  # an inline's: its cohort being edited
            except Cohort.DoesNotExist:
                cohort = None
        enrolled_on = data.get("enrolled_on")
        if self.instance.pk is None and cohort is not None and enrolled_on is not None:
            wrong = enrolment_date_error(cohort, enrolled_on)
            if wrong:
                self.add_error("enrolled_on", wrong)
        return data


class CohortEnrolmentInline(admin.TabularInline):
    model = Enrolment
    form = EnrolmentDateForm
    fields = ["participant", "status", "enrolled_on", "withdrawn_on"]
    readonly_fields = ["status", "withdrawn_on"]
    autocomplete_fields = ["participant"]
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("participant")
        return roles.scope_enrolments(qs, request.user)

    def has_change_permission(self, request, obj=None):
        return False  # status changes go through the enrolment page (history kept)


@admin.register(Cohort)
class CohortAdmin(ScopedAdmin):
    form = CohortForm
    list_display = ["name", "code", "year", "regions_list", "n_enrolled", "n_sessions"]
    list_filter = ["year", "regions", "programme"]
    search_fields = ["name", "name_ar", "name_en", "code"]
    filter_horizontal = ["regions"]
    inlines = [CohortEnrolmentInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("regions")
            .annotate(
                _enrolled=Count("enrolments", filter=Q(enrolments__status="active"), distinct=True),
                _sessions=Count("sessions", distinct=True),
            )
        )

    def get_readonly_fields(self, request, obj=None):
        # A manager scoped to some regions must not drop, unseen, the regions of others.
        if obj is not None and roles.region_scope(request.user) is not None:
            return ["regions"]
        return []

    @admin.display(description=gettext_lazy("regions"))
    def regions_list(self, obj):
        return ", ".join(r.code for r in obj.regions.all())

    @admin.display(description=gettext_lazy("active enrolments"), ordering="_enrolled")
    def n_enrolled(self, obj):
        return obj._enrolled

    @admin.display(description=gettext_lazy("sessions"), ordering="_sessions")
    def n_sessions(self, obj):
        return obj._sessions

    def save_formset(self, request, form, formset, change):
        if formset.model is not Enrolment:
            return super().save_formset(request, form, formset, change)
        for enrolment in formset.save(commit=False):
            services.enrolment_create(
                participant=enrolment.participant,
                cohort=form.instance,
                enrolled_on=enrolment.enrolled_on,
                by=request.user,
            )


class SessionForm(forms.ModelForm):
    class Meta:
        model = TrainingSession
        fields = [
            "cohort", "title", "title_ar", "title_en", "theme", "starts_at", "ends_at",
            "modality", "city", "venue", "online_url", "planned_hours",
        ]  # fmt: skip

    def clean(self):
        super().clean()  # returns `self.cleaned_data`
        data = self.cleaned_data
        cohort = data.get("cohort") or (self.instance.cohort if self.instance.pk else None)
        if cohort and data.get("starts_at") and data.get("ends_at"):
            try:
                validate_session_dates(cohort, data["starts_at"], data["ends_at"])
            except ValidationError as exc:
                self.add_error(None, exc)
        return data


class _RosterRow(TypedDict):
    """One line of the attendance sheet, as the roster template reads it."""

    enrolment: Enrolment
    participant: Participant
    mark: Attendance | None
    status: str
    note: str
    minutes: int | str  # the recorded minutes, or the text posted back
    errors: list[str]


@admin.register(TrainingSession)
class TrainingSessionAdmin(ScopedAdmin):
    form = SessionForm
    # The sheet first, where a phone shows it; newest first, where last month's are.
    list_display = ["roster_link", "title", "cohort", "local_start", "city", "modality", "marks"]
    list_display_links = ["title"]
    ordering = ["-starts_at", "-id"]
    list_filter = [
        "cohort__year",
        "cohort__regions",
        "modality",
        "cohort",
    ]
    search_fields = ["title", "title_ar", "title_en", "theme", "city", "venue", "cohort__name"]
    date_hierarchy = "starts_at"
    list_select_related = ["cohort"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_marks=Count("attendances"))

    def get_readonly_fields(self, request, obj=None):
        # Marks belong to the cohort's participants: a session does not change cohort.
        return ["cohort"] if obj else []

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.fields}
        if change:
            services.session_update(session=obj, **data)
        else:
            obj.pk = services.session_create(**data).pk

    @admin.display(description=gettext_lazy("starts (local time)"), ordering="starts_at")
    def local_start(self, obj):
        return timezone.localtime(obj.starts_at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description=gettext_lazy("marks"), ordering="_marks")
    def marks(self, obj):
        return obj._marks

    @admin.display(description=gettext_lazy("attendance"))
    def roster_link(self, obj):
        url = reverse("admin:cohorts_trainingsession_roster", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Attendance sheet"))

    def get_urls(self):
        return [
            path(
                "<int:session_id>/roster/",
                self.admin_site.admin_view(self.roster_view),
                name="cohorts_trainingsession_roster",
            ),
            *super().get_urls(),
        ]

    def roster_view(self, request, session_id):
        """The attendance sheet: every expected participant, one save for all."""
        session = get_object_or_404(self.get_queryset(request), pk=session_id)
        can_edit = request.user.has_perm("cohorts.add_attendance") and request.user.has_perm(
            "cohorts.change_attendance"
        )
        if not request.user.has_perm("cohorts.view_attendance") and not can_edit:
            raise PermissionDenied
        roster = cohort_roster(session, request.user)
        rows: list[_RosterRow] = [
            {
                "enrolment": enrolment,
                "participant": enrolment.participant,
                "mark": mark,
                "status": mark.status if mark else "",
                "note": mark.note if mark else "",
                "minutes": mark.minutes_attended if mark and mark.minutes_attended else "",
                "errors": [],
            }
            for enrolment, mark in roster
        ]
        form_error = None
        if request.method == "POST":
            if not can_edit:
                raise PermissionDenied
            fill_present = "_all_present" in request.POST
            marks: list[services.Mark] = []
            posted_rows: list[_RosterRow] = []
            for row in rows:
                pid = row["participant"].pk
                status = request.POST.get(f"status-{pid}", "")
                if not status and fill_present:
                    status = Attendance.Status.PRESENT
                row["status"] = status
                row["note"] = request.POST.get(f"note-{pid}", "").strip()
                row["minutes"] = request.POST.get(f"minutes-{pid}", "").strip()
                if not status:
                    continue  # left blank: not recorded
                minutes = None
                if row["minutes"]:
                    try:
                        minutes = int(row["minutes"])
                    except ValueError:
                        minutes = -1  # reported by the service as out of range
                marks.append(services.Mark(pid, status, row["note"], minutes))
                posted_rows.append(row)
            try:
                saved = services.attendance_roster_record(
                    session=session, marks=marks, recorded_by=request.user
                )
            except LineErrors as exc:
                for error in exc.errors:
                    posted_rows[error.line - 1]["errors"].append(error.message)
                form_error = _("Nothing was saved: correct the lines marked in red.")
            except ValidationError as exc:
                form_error = " ".join(exc.messages)
            else:
                messages.success(
                    request,
                    _("Attendance saved: %(n)s mark(s) recorded or changed.") % {"n": len(saved)},
                )
                return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Attendance sheet"),
            "session": session,
            "rows": rows,
            "statuses": Attendance.Status.choices,
            "can_edit": can_edit,
            "form_error": form_error,
            "started": session.starts_at <= timezone.now(),
            "recorded": sum(1 for r in rows if r["mark"]),
        }
        return TemplateResponse(request, "admin/cohorts/trainingsession/roster.html", context)


# Enrolments and attendance ------------------------------------------------------------


class EnrolmentHistoryInline(ReadOnlyInline):
    model = EnrolmentHistory
    fields = ["changed_at", "changed_by", "action", "before", "after"]


@admin.register(Enrolment)
class EnrolmentAdmin(ExportActions, ScopedAdmin):
    export_table = staticmethod(enrolments_table)
    export_name = "enrolments"
    form = EnrolmentDateForm
    list_display = ["participant", "cohort", "status", "enrolled_on", "withdrawn_on"]
    list_filter = [
        "status",
        "cohort__year",
        "cohort",
        "participant__region",
        "participant__role",
        "participant__sex",
    ]
    search_fields = ["participant__last_name", "participant__first_name", "participant__email"]
    list_select_related = ["participant", "cohort"]
    autocomplete_fields = ["participant"]
    inlines = [EnrolmentHistoryInline]
    actions = ["reactivate", "export_csv", "export_xlsx"]

    def get_readonly_fields(self, request, obj=None):
        return ["participant", "cohort", "enrolled_on"] if obj else []

    def has_delete_permission(self, request, obj=None):
        # An enrolment carries marks, history and certificates: withdraw it instead.
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            created = services.enrolment_create(
                participant=data["participant"],
                cohort=data["cohort"],
                enrolled_on=data["enrolled_on"],
                by=request.user,
            )
            obj.pk = created.pk
        elif "status" in form.changed_data and data["status"] == Enrolment.Status.WITHDRAWN:
            services.enrolment_withdraw(
                enrolment=obj,
                withdrawn_on=data["withdrawn_on"],
                reason=data["withdrawal_reason"],
                by=request.user,
            )
        elif "status" in form.changed_data:
            services.enrolment_reactivate(enrolment=obj, by=request.user)

    @admin.action(description=gettext_lazy("Reactivate the selected enrolments"))
    def reactivate(self, request, queryset):
        for enrolment in queryset.filter(status=Enrolment.Status.WITHDRAWN):
            services.enrolment_reactivate(enrolment=enrolment, by=request.user)


class AttendanceForm(forms.ModelForm):
    class Meta:
        model = Attendance
        fields = ["status", "minutes_attended", "note"]
        error_messages = {
            "minutes_attended": {"min_value": gettext_lazy("Minutes attended cannot be negative.")}
        }

    def clean_minutes_attended(self):
        minutes = self.cleaned_data.get("minutes_attended")
        session = self.instance.session
        wrong = (
            None if minutes is None else minutes_attended_error(minutes, session_minutes(session))
        )
        if wrong:
            raise ValidationError(wrong)
        return minutes


@admin.register(Attendance)
class AttendanceAdmin(ScopedAdmin):
    """Single marks can be corrected here; they are recorded on the session's sheet."""

    form = AttendanceForm
    list_display = ["participant", "session", "status", "recorded_by", "recorded_at"]
    list_filter = [
        "status",
        "session__cohort__year",
        "session__cohort",
        "participant__region",
    ]
    search_fields = ["participant__last_name", "participant__first_name", "session__title"]
    list_select_related = ["participant", "session", "recorded_by"]
    readonly_fields = ["session", "participant", "recorded_by", "recorded_at"]
    fields = [
        "session",
        "participant",
        "status",
        "minutes_attended",
        "note",
        "recorded_by",
        "recorded_at",
    ]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        services.attendance_record(
            session=obj.session,
            participant=obj.participant,
            status=form.cleaned_data["status"],
            note=form.cleaned_data["note"],
            minutes_attended=form.cleaned_data["minutes_attended"],
            recorded_by=request.user,
        )


@admin.register(AttendanceHistory)
class AttendanceHistoryAdmin(admin.ModelAdmin):
    list_display = [
        "changed_at",
        "person",
        "training_session",
        "action",
        "before",
        "after",
        "changed_by",
    ]
    list_filter = ["action", "session__cohort__year"]
    search_fields = ["participant__last_name", "session__title"]
    list_select_related = ["participant", "session", "changed_by"]
    date_hierarchy = "changed_at"

    def get_queryset(self, request):
        return roles.scope_attendance(super().get_queryset(request), request.user)

    # The history's foreign keys have no verbose name (a migration for a header): name
    # the columns here.
    @admin.display(description=gettext_lazy("participant"), ordering="participant")
    def person(self, obj):
        return obj.participant

    @admin.display(description=gettext_lazy("session"), ordering="session")
    def training_session(self, obj):
        return obj.session

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
