"""The trainee's own pages ("Mon parcours"): progress, sessions, attendance history,
calendars and the certificate. Only the signed-in trainee's own records are ever read:
every lookup starts from `request.user.participant`, so another person's session or
certificate is simply not found (404), not forbidden (which would confirm it exists).
"""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from icalendar import Calendar

from certificates.files import pdf_download
from certificates.models import Certificate
from certificates.trainee import (
    CohortOverview,
    trainee_certificates,
    trainee_overview,
    trainee_sessions,
)
from cohorts.models import Attendance
from messaging.compose import session_ics
from web.access import role_required
from web.views.personal_data import naming_context

# The completion rule's reason codes (certificates.rules.evaluate), in words.
REASONS = {
    "withdrawn": _("You have withdrawn from this cohort."),
    "no_attendance": _("No attendance has been recorded yet."),
    "attendance_below_threshold": _("Your attendance rate is below the required rate."),
    "hours_below_minimum": _("Your hours attended are below the required minimum."),
    "required_session_missed": _("A required session was missed."),
}


def _reason(code: str, progress) -> str:
    if code == "attendance_not_recorded":
        return ngettext(
            "%(n)s session held has not been recorded yet: the programme team records it "
            "before a certificate can be issued.",
            "%(n)s sessions held have not been recorded yet: the programme team records them "
            "before a certificate can be issued.",
            progress.not_recorded,
        ) % {"n": progress.not_recorded}
    return str(REASONS.get(code, code))


# Each mark's badge colour; the badge always carries the mark in words too, so colour is
# never the only signal.
MARK_BADGES = {"present": "ok", "late": "warn", "excused": "", "absent": "bad"}
MARK_LABELS = dict(Attendance.Status.choices)


def _display_name(participant) -> str:
    """The name in Arabic script on Arabic pages, when the record has it."""
    if (
        translation.get_language() == "ar"
        and participant.first_name_ar
        and participant.last_name_ar
    ):
        return participant.full_name_ar
    return participant.full_name


def _state(row: CohortOverview) -> str:
    """Where the trainee stands toward the certificate, in one word for the template."""
    if row.certificate is not None and row.certificate.status == Certificate.Status.ISSUED:
        return "obtained"
    if row.progress.eligible:
        return "met"
    if row.progress.reachable:
        return "reachable"
    return "unreachable"


def _cohort_view(row: CohortOverview) -> dict:
    return {
        "row": row,
        "cohort": row.cohort,
        "enrolment": row.enrolment,
        "progress": row.progress,
        "percent": row.progress.rate.percent,
        "state": _state(row),
        "reasons": [_reason(code, row.progress) for code in row.progress.reasons],
        "certificate": row.certificate,
        "upcoming": [_session_view(line) for line in row.upcoming],
        "history": [_session_view(line) for line in row.history],
    }


def _session_view(line) -> dict:
    if line.cancelled:
        label, badge = _("Cancelled"), "bad"
    elif line.mark is None:
        label, badge = _("Not recorded"), "none"
    else:
        label, badge = MARK_LABELS.get(line.mark, line.mark), MARK_BADGES.get(line.mark, "")
    return {
        "session": line.session,
        "cancelled": line.cancelled,
        "mark": line.mark or "",
        "mark_label": label,
        "badge": badge,
    }


@role_required("trainee")
def trainee_home(request):
    participant = request.user.participant
    overview = trainee_overview(participant)
    return render(
        request,
        "web/trainee/home.html",
        {
            "participant": participant,
            "display_name": _display_name(participant),
            "cohorts": [_cohort_view(row) for row in overview.newest_first],
            **naming_context(participant),
        },
    )


def _ics_response(body: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@role_required("trainee")
def session_calendar(request, pk: int):
    session = get_object_or_404(trainee_sessions(request.user.participant), pk=pk)
    body = session_ics(session, cancelled=session.cancelled_at is not None)
    return _ics_response(body, f"session-{session.pk}.ics")


def sessions_calendar(sessions) -> bytes:
    """One calendar holding every session, each event exactly as `session_ics` writes it
    (same UID, so a calendar program updates rather than duplicates). Published, not an
    invitation: the file is a subscription-like snapshot."""
    calendar = Calendar()
    calendar.add("prodid", "-//Cycle Region 2021//tracker//FR")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "Région 2021")
    for session in sessions:
        single = Calendar.from_ical(
            session_ics(session, cancelled=session.cancelled_at is not None)
        )
        for event in single.walk("VEVENT"):
            calendar.add_component(event)
    return calendar.to_ical()


@role_required("trainee")
def trainee_calendar(request):
    sessions = trainee_sessions(request.user.participant).order_by("starts_at", "id")
    return _ics_response(sessions_calendar(sessions), "region2021-sessions.ics")


@role_required("trainee")
def certificate_pdf(request, pk: int):
    """The current PDF of the trainee's own certificate; a revoked one is not served."""
    certificate = get_object_or_404(trainee_certificates(request.user.participant), pk=pk)
    return pdf_download(certificate)


urlpatterns = [
    path("me/", trainee_home, name="trainee-home"),
    path("me/calendar.ics", trainee_calendar, name="trainee-calendar"),
    path("me/sessions/<int:pk>/calendar.ics", session_calendar, name="trainee-session-ics"),
    path("me/certificates/<int:pk>/pdf", certificate_pdf, name="trainee-certificate-pdf"),
]
