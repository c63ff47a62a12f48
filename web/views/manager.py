"""Programme managers' pages: their cohorts, the attendance sheet, a cohort's progress.

Every read goes through the region scope (cohorts.roles): what is out of scope is a 404,
as if it did not exist. Writes go through cohorts.services only.
"""

from dataclasses import dataclass
from typing import cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from certificates.rules import Progress
from certificates.selectors import enrolments_progress
from cohorts.errors import LineErrors
from cohorts.models import (
    Attendance,
    AttendanceHistory,
    Cohort,
    Enrolment,
    Notification,
    Participant,
    TrainingSession,
)
from cohorts.roles import scope_cohorts, scope_participants, scope_sessions
from cohorts.selectors import cohort_roster
from cohorts.services import Mark, attendance_roster_record
from cohorts.tables import write_csv, write_xlsx
from cohorts.validation import minutes_attended_error, session_minutes
from messaging.failures import failed_by_participant, failed_messages
from reports import overview
from web.access import role_required

# --- Home -------------------------------------------------------------------------------


COHORTS_PER_PAGE = 20
FAILED_SHOWN = 10  # the latest failed messages on the home page


def _chosen_year(raw: str | None, years: list[int]) -> int | None:
    """The year asked for; "all" for every year; by default the most recent one, which is
    the one being run (at national scale, all years at once is hundreds of cohorts)."""
    if raw == "all" or not years:
        return None
    if raw and raw.isdigit() and int(raw) in years:
        return int(raw)
    return years[0]


@role_required("manager")
def manager_home(request):
    now = timezone.now()
    years = overview.cohort_years(request.user)
    year = _chosen_year(request.GET.get("year"), years)
    cohorts = overview.cohorts_at_a_glance(request.user, year=year, now=now)
    page = Paginator(cohorts, COHORTS_PER_PAGE).get_page(request.GET.get("page"))
    rows = overview.manager_cohorts(list(page.object_list), request.user, now=now)
    return render(
        request,
        "web/manager/home.html",
        {
            "rows": rows,
            "page": page,
            "years": years,
            "year": year,
            "upcoming": list(overview.upcoming_sessions(request.user, now=now)),
            "flagged_total": overview.flagged_sessions(request.user, now=now).count(),
            "failed": list(failed_messages(request.user)[:FAILED_SHOWN]),
            "failed_total": failed_messages(request.user).count(),
            "now": now,
        },
    )


# --- Attendance sheet -------------------------------------------------------------------

STATUSES = [
    (Attendance.Status.PRESENT, gettext_lazy("Present")),
    (Attendance.Status.LATE, gettext_lazy("Late")),
    (Attendance.Status.EXCUSED, gettext_lazy("Excused")),
    (Attendance.Status.ABSENT, gettext_lazy("Absent")),
]


@dataclass(frozen=True)
class SheetError:
    """One message of the sheet's summary: about a person (named, linked to their line's
    wrong field), or about the whole form."""

    message: str
    name: str = ""
    anchor: str = ""  # the id of the field (or line) it is about

    def __str__(self) -> str:
        return f"{self.name}: {self.message}" if self.name else self.message


def _line_error(line: "SheetLine", message) -> SheetError:
    pk = line.participant.pk
    anchor = f"{line.field}-{pk}" if line.field else f"person-{pk}"
    return SheetError(str(message), line.participant.full_name, anchor)


@dataclass
class SheetLine:
    """One person on the sheet: what the form shows (current mark, or what was posted)."""

    enrolment: Enrolment
    mark: Attendance | None
    status: str = ""
    note: str = ""
    minutes: str = ""
    error: str = ""
    field: str = ""  # the field the error is about ("minutes", "note"), or the whole line

    @property
    def participant(self) -> Participant:
        return self.enrolment.participant


def _lines_from_marks(roster) -> list[SheetLine]:
    return [
        SheetLine(
            enrolment,
            mark,
            status=mark.status if mark else "",
            note=mark.note if mark else "",
            minutes=""
            if mark is None or mark.minutes_attended is None
            else str(mark.minutes_attended),
        )
        for enrolment, mark in roster
    ]


def _read_post(
    request, lines: list[SheetLine], longest: int
) -> tuple[list[SheetError], list[Mark]]:
    """Fill the lines with what was posted; return the errors and the marks to record.

    The form lists the people it was drawn for (hidden `person` fields): someone posted
    who is no longer on the roster (removed or withdrawn meanwhile, or a tampered form) is
    an error, never silently dropped.
    """
    errors: list[SheetError] = []
    by_id = {line.participant.pk: line for line in lines}
    posted: list[int] = []
    for raw in request.POST.getlist("person"):
        try:
            posted.append(int(raw))
        except ValueError:
            errors.append(SheetError(_("The form is damaged: reload the page and try again.")))
    unknown = [pk for pk in posted if pk not in by_id]
    if unknown:
        # Name only people the manager may see anyway; others stay anonymous.
        names = [
            p.full_name
            for p in scope_participants(Participant.objects.filter(pk__in=unknown), request.user)
        ]
        for name in names:
            errors.append(
                SheetError(
                    _("%(name)s is no longer on this session's roster: nothing was saved.")
                    % {"name": name}
                )
            )
        if len(names) < len(unknown):
            errors.append(
                SheetError(
                    _("Someone on the form is not on this session's roster: nothing was saved.")
                )
            )
    valid_statuses = {value for value, _label in STATUSES}
    marks: list[Mark] = []
    for pk in posted:
        line = by_id.get(pk)
        if line is None:
            continue
        line.status = request.POST.get(f"status-{pk}", "").strip()
        line.note = request.POST.get(f"note-{pk}", "").strip()
        line.minutes = request.POST.get(f"minutes-{pk}", "").strip()
        minutes = None
        if line.minutes:
            try:
                minutes = int(line.minutes)
            except ValueError:
                line.error = _("Minutes attended must be a whole number.")
                line.field = "minutes"
            else:
                wrong = minutes_attended_error(minutes, longest)
                if wrong:
                    line.error, line.field = wrong, "minutes"
        if line.status and line.status not in valid_statuses:
            if line.error:
                errors.append(_line_error(line, line.error))
            line.error, line.field = _("Choose present, late, excused or absent."), ""
            line.status = ""
        if line.error:
            errors.append(_line_error(line, line.error))
        elif line.status:
            marks.append(Mark(pk, line.status, line.note, minutes))
    return errors, marks


_SERVICE_FIELDS = {"minutes_attended": "minutes", "note": "note"}


def _service_errors(exc, marks: list[Mark], lines: list[SheetLine]) -> list[SheetError]:
    """The service's messages, each line's named after its person."""
    if isinstance(exc, LineErrors):
        by_id = {line.participant.pk: line for line in lines}
        out = []
        for error in exc.errors:
            line = by_id.get(marks[error.line - 1].participant_id)
            if line is not None:
                line.error = str(error.message)
                line.field = _SERVICE_FIELDS.get(error.field, "")
                out.append(_line_error(line, error.message))
            else:
                out.append(SheetError(str(error.message)))
        return out
    return [SheetError(str(m)) for m in exc.messages]


def _recorder_name(mark: Attendance | None) -> str:
    user = mark.recorded_by if mark else None
    return (user.get_full_name() or user.username) if user else ""


@role_required("manager")
def attendance_sheet(request, pk: int):
    session = get_object_or_404(
        scope_sessions(TrainingSession.objects.select_related("cohort"), request.user), pk=pk
    )
    roster = cohort_roster(session, user=request.user)
    lines = _lines_from_marks(roster)
    state = overview.session_state(session)
    errors: list[SheetError] = []
    status_code = 200
    if request.method == "POST":
        if state != "open":
            errors.append(
                SheetError(
                    _("This session is cancelled: there is nothing to record.")
                    if state == "cancelled"
                    else _("Attendance cannot be recorded before the session starts.")
                )
            )
        else:
            errors, marks = _read_post(request, lines, session_minutes(session))
            if not errors and "all_present" in request.POST:
                # Without JavaScript: fill the gaps and show the sheet again, unsaved.
                for line in lines:
                    line.status = line.status or Attendance.Status.PRESENT
                messages.info(
                    request, _("Everyone without a status is now present: not saved yet.")
                )
            elif not errors:
                try:
                    attendance_roster_record(session=session, marks=marks, recorded_by=request.user)
                except (ValidationError, LineErrors) as exc:
                    errors = _service_errors(exc, marks, lines)
                else:
                    unset = sum(1 for line in lines if not line.status)
                    messages.success(
                        request,
                        _("Marks saved: %(saved)s. Without a status (not recorded): %(unset)s.")
                        % {"saved": len(marks), "unset": unset},
                    )
                    return redirect("web:attendance-sheet", pk=session.pk)
        if errors:
            status_code = 400
    last = overview.last_recording([mark for _e, mark in roster])
    return render(
        request,
        "web/manager/attendance_sheet.html",
        {
            "session": session,
            "lines": lines,
            "statuses": STATUSES,
            "state": state,
            "errors": errors,
            "last": last,
            "last_by": _recorder_name(last),
            "unset": sum(1 for line in lines if not line.status),
            "max_minutes": session_minutes(session),
        },
        status=status_code,
    )


# --- Cohort progress --------------------------------------------------------------------

STANDINGS = [
    ("eligible", gettext_lazy("Eligible")),
    ("on_track", gettext_lazy("On track (still reachable)")),
    ("at_risk", gettext_lazy("At risk (no longer reachable)")),
    ("withdrawn", pgettext_lazy("person", "Withdrawn")),
]
STANDING_LABELS = dict(STANDINGS)
CERTIFICATE_LABELS = {
    "issued": gettext_lazy("Issued"),
    "revoked": gettext_lazy("Revoked"),
    "": gettext_lazy("Not issued"),
}


def standing(row) -> str:
    """Where an enrolment stands, read off the rule's verdict (never recomputed here)."""
    if row.enrolment.status == Enrolment.Status.WITHDRAWN:
        return "withdrawn"
    if row.progress.eligible:
        return "eligible"
    return "on_track" if row.progress.reachable else "at_risk"


class ProgressFilters(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Standing"),
        required=False,
        choices=[("", gettext_lazy("All")), *STANDINGS],
    )
    region = forms.ChoiceField(label=gettext_lazy("Region"), required=False)
    q = forms.CharField(label=gettext_lazy("Name"), required=False, max_length=100)

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        region = cast(forms.ChoiceField, self.fields["region"])  # declared above
        region.choices = [("", _("All regions")), *regions]


def _region_name(region) -> str:
    return region.name_ar if translation.get_language() == "ar" else region.name_fr


@dataclass
class ProgressLine:
    enrolment: Enrolment
    progress: Progress
    standing: str
    certificate: str
    failed_message: Notification | None = None  # the latest message to them that failed

    @property
    def participant(self) -> Participant:
        return self.enrolment.participant

    @property
    def region_name(self) -> str:
        return _region_name(self.participant.region)

    @property
    def percent(self) -> int | None:
        return self.progress.rate.percent


def _export_table(lines: list[ProgressLine]):
    header = [
        _("Last name"),
        _("First name"),
        _("Region"),
        _("Sex"),
        _("Role"),
        _("Enrolment"),
        _("Attendance rate (%)"),
        _("Sessions attended"),
        _("Sessions counted"),
        _("Hours attended"),
        _("Standing"),
        _("Certificate"),
    ]
    rows = [
        [
            line.participant.last_name,
            line.participant.first_name,
            _region_name(line.participant.region),
            line.participant.get_sex_display(),
            line.participant.get_role_display(),
            line.enrolment.get_status_display(),
            "" if line.percent is None else line.percent,
            line.progress.rate.numerator,
            line.progress.rate.denominator,
            float(line.progress.hours_attended),
            str(STANDING_LABELS[line.standing]),
            str(CERTIFICATE_LABELS[line.certificate]),
        ]
        for line in lines
    ]
    return header, rows


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@role_required("manager")
def cohort_progress(request, pk: int):
    cohort = get_object_or_404(scope_cohorts(Cohort.objects.all(), request.user), pk=pk)
    regions = sorted({r.code: r for r in cohort.regions.all()}.values(), key=lambda r: r.code)
    form = ProgressFilters(
        request.GET or None, regions=[(r.code, f"{r.code} {_region_name(r)}") for r in regions]
    )
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    enrolments = overview.progress_enrolments(
        cohort, request.user, search=filters.get("q", ""), region=filters.get("region", "")
    )
    rows = enrolments_progress(enrolments)
    certificates = overview.certificate_statuses(cohort, [r.enrolment.participant_id for r in rows])
    failed = failed_by_participant([r.enrolment.participant_id for r in rows])
    lines = [
        ProgressLine(
            r.enrolment,
            r.progress,
            standing(r),
            certificates.get(r.enrolment.participant_id, ""),
            failed.get(r.enrolment.participant_id),
        )
        for r in rows
    ]
    totals = {key: sum(1 for line in lines if line.standing == key) for key, _label in STANDINGS}
    wanted = filters.get("status", "")
    if wanted:
        lines = [line for line in lines if line.standing == wanted]
    status_code = 400 if form.is_bound and not form.is_valid() else 200
    export = request.GET.get("format", "")
    if export in {"csv", "xlsx"} and status_code == 200:
        header, table = _export_table(lines)
        name = f"{slugify(cohort.code)}-progress"
        if export == "csv":
            return _download(write_csv(header, table), "text/csv; charset=utf-8", f"{name}.csv")
        return _download(
            write_xlsx(header, table, title=_("Progress")),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            f"{name}.xlsx",
        )
    query = request.GET.copy()
    query.pop("format", None)
    return render(
        request,
        "web/manager/cohort_progress.html",
        {
            "cohort": cohort,
            "form": form,
            "lines": lines,
            "totals": [(key, label, totals[key]) for key, label in STANDINGS],
            "query": query.urlencode(),
            "threshold": rows[0].progress.threshold_percent if rows else None,
        },
        status=status_code,
    )


# --- Sessions and their attendance state --------------------------------------------------

SESSIONS_PER_PAGE = 30
SESSION_STATE_LABELS = {
    "upcoming": gettext_lazy("Upcoming"),
    "to_record": gettext_lazy("To record"),
    "recorded": gettext_lazy("Recorded"),
    "nobody": gettext_lazy("Nobody expected"),
    "cancelled": gettext_lazy("Cancelled"),
}


@role_required("manager")
def sessions_list(request, pk: int | None = None):
    """A cohort's sessions (all by default), or those to record across the manager's
    cohorts (by default without a cohort), newest first, with their attendance state."""
    cohort = None
    if pk is not None:
        cohort = get_object_or_404(scope_cohorts(Cohort.objects.all(), request.user), pk=pk)
    show = request.GET.get("show", "")
    to_record = show == "to_record" if cohort is not None else show != "all"
    now = timezone.now()
    sessions = overview.sessions_with_state(
        request.user, cohort=cohort, to_record=to_record, now=now
    )
    page = Paginator(sessions, SESSIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/manager/sessions.html",
        {
            "cohort": cohort,
            "to_record": to_record,
            "page": page,
            "rows": [
                (row, SESSION_STATE_LABELS[row.state])
                for row in overview.session_rows(page.object_list, now=now)
            ],
            "show": "to_record" if to_record else "all",
        },
    )


@dataclass
class HistoryLine:
    entry: AttendanceHistory
    changes: list[tuple[str, str, str]]  # (what, before, after)


def _mark_value(name: str, value) -> str:
    if value in (None, ""):
        return "—"
    if name == "status":
        return str(dict(STATUSES).get(value, value))
    return str(value)


def _history_lines(entries) -> list[HistoryLine]:
    labels = {
        "status": _("Status"),
        "minutes_attended": _("Minutes attended"),
        "note": _("Note"),
    }
    lines = []
    for entry in entries:
        before, after = entry.before or {}, entry.after or {}
        changes = [
            (str(label), _mark_value(name, before.get(name)), _mark_value(name, after.get(name)))
            for name, label in labels.items()
            if before.get(name) != after.get(name)
        ]
        lines.append(HistoryLine(entry, changes))
    return lines


HISTORY_PER_PAGE = 50


@role_required("manager")
def session_history(request, pk: int):
    """Who changed which mark of a session, when, from what to what (newest first)."""
    session = get_object_or_404(
        scope_sessions(TrainingSession.objects.select_related("cohort"), request.user), pk=pk
    )
    entries = overview.attendance_history(session, request.user)
    page = Paginator(entries, HISTORY_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/manager/session_history.html",
        {"session": session, "page": page, "lines": _history_lines(page.object_list)},
    )


urlpatterns = [
    path("manage/", manager_home, name="manager-home"),
    path("manage/sessions/<int:pk>/attendance/", attendance_sheet, name="attendance-sheet"),
    path("manage/cohorts/<int:pk>/progress/", cohort_progress, name="cohort-progress"),
    path("manage/cohorts/<int:pk>/sessions/", sessions_list, name="cohort-sessions"),
    path("manage/sessions/", sessions_list, name="sessions"),
    path("manage/sessions/<int:pk>/history/", session_history, name="session-history"),
]
