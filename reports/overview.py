"""Reads for the programme managers' pages: their cohorts at a glance, and the sheet's state.

Everything here is scoped to the caller's regions (cohorts.roles) and costs a constant
number of queries whatever the number of cohorts, sessions or people.
"""

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from cohorts.models import Attendance, Cohort, Enrolment, TrainingSession
from cohorts.roles import scope_cohorts, scope_enrolments, scope_sessions
from cohorts.selectors import sessions_without_attendance

if TYPE_CHECKING:  # django-stubs-ext is a development dependency
    from django_stubs_ext import WithAnnotations

UPCOMING_DAYS = 7


class CohortCounts(TypedDict):
    """The annotations `cohorts_at_a_glance` adds to each cohort."""

    n_active: int
    n_withdrawn: int
    n_sessions: int
    n_held: int


if TYPE_CHECKING:
    CohortWithCounts = WithAnnotations[Cohort, CohortCounts]


@dataclass
class CohortOverview:
    cohort: Cohort
    active: int
    withdrawn: int
    sessions_total: int
    sessions_held: int
    flagged: list[TrainingSession] = field(default_factory=list)
    upcoming: list[TrainingSession] = field(default_factory=list)


def _count(qs, expression=None):
    """A correlated COUNT as a subquery: several counts on one row without a join fan-out."""
    counted = qs.order_by().values("cohort_id").annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def cohort_years(user) -> list[int]:
    """The programme years of the cohorts in the user's scope, most recent first."""
    cohorts = scope_cohorts(Cohort.objects.all(), user)
    return sorted(set(cohorts.values_list("year", flat=True)), reverse=True)


def cohorts_at_a_glance(user, *, year: int | None = None, now=None) -> "QuerySet[CohortWithCounts]":
    """The cohorts in the user's scope (of one year, or all), most recent year first, each
    with its enrolment and session counts as annotations.

    Lazy: slice it (a page) before reading, and the counts run for that page only. Only
    the participants of the user's regions are counted; cancelled sessions are left out.
    """
    now = now or timezone.now()
    enrolments = scope_enrolments(Enrolment.objects.filter(cohort_id=OuterRef("pk")), user)
    sessions = TrainingSession.objects.filter(cohort_id=OuterRef("pk"), cancelled_at__isnull=True)
    cohorts = scope_cohorts(Cohort.objects.all(), user)
    if year is not None:
        cohorts = cohorts.filter(year=year)
    return cohorts.annotate(
        n_active=_count(enrolments.filter(status=Enrolment.Status.ACTIVE)),
        n_withdrawn=_count(enrolments.filter(status=Enrolment.Status.WITHDRAWN)),
        n_sessions=_count(sessions),
        n_held=_count(sessions.filter(starts_at__lte=now)),
    ).order_by("-year", "name", "pk")


def flagged_sessions(user, now=None) -> QuerySet[TrainingSession]:
    """Sessions of the user's cohorts that have ended with no mark at all (not cancelled)."""
    in_scope = scope_cohorts(Cohort.objects.all(), user)
    return sessions_without_attendance(in_scope, now=now).filter(cancelled_at__isnull=True)


def manager_cohorts(cohorts: "list[CohortWithCounts]", user, now=None) -> list[CohortOverview]:
    """What needs attention in these cohorts (a page of `cohorts_at_a_glance`): sessions
    ended without any mark, and sessions from today to a week ahead. Two queries."""
    now = now or timezone.now()
    rows = {
        c.pk: CohortOverview(c, c.n_active, c.n_withdrawn, c.n_sessions, c.n_held) for c in cohorts
    }
    if not rows:
        return []
    for session in (
        flagged_sessions(user, now=now).filter(cohort_id__in=rows).order_by("starts_at", "pk")
    ):
        rows[session.cohort_id].flagged.append(session)
    for session in upcoming_sessions(user, now=now).filter(cohort_id__in=rows):
        rows[session.cohort_id].upcoming.append(session)
    return list(rows.values())


def upcoming_sessions(user, now=None):
    """Sessions from the start of today (local time) to the end of the 7th day ahead."""
    now = now or timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    until = today + datetime.timedelta(days=UPCOMING_DAYS + 1)
    return (
        scope_sessions(TrainingSession.objects.all(), user)
        .filter(starts_at__gte=today, starts_at__lt=until)
        .select_related("cohort")
        .order_by("starts_at", "pk")
    )


def last_recording(marks: list[Attendance | None]) -> Attendance | None:
    """The most recently recorded mark of a roster (who took the last marks, and when)."""
    recorded = [m for m in marks if m is not None]
    return max(recorded, key=lambda m: (m.recorded_at, m.pk)) if recorded else None


def session_state(session: TrainingSession, now=None) -> str:
    """ "cancelled", "future" (not started: nothing to record yet) or "open"."""
    now = now or timezone.now()
    if session.cancelled_at is not None:
        return "cancelled"
    if session.starts_at > now:
        return "future"
    return "open"


def progress_enrolments(cohort: Cohort, user, search: str = "", region: str = ""):
    """The cohort's enrolments the user may see, filtered by name and region."""
    qs = scope_enrolments(Enrolment.objects.filter(cohort=cohort), user)
    if region:
        qs = qs.filter(participant__region_id=region)
    for word in search.split():
        qs = qs.filter(
            Q(participant__first_name__icontains=word)
            | Q(participant__last_name__icontains=word)
            | Q(participant__first_name_ar__icontains=word)
            | Q(participant__last_name_ar__icontains=word)
        )
    return qs.order_by("participant__last_name", "participant__first_name", "participant_id")


def certificate_statuses(cohort: Cohort, participant_ids) -> dict[int, str]:
    """Certificate status ("issued"/"revoked") per participant of a cohort, in one query."""
    from certificates.models import Certificate

    rows = Certificate.objects.filter(cohort=cohort, participant_id__in=list(participant_ids))
    return dict(rows.values_list("participant_id", "status"))


# --- Sessions and their attendance state ------------------------------------------------

SESSION_STATES = ("upcoming", "to_record", "recorded", "nobody", "cancelled")


@dataclass
class SessionRow:
    """A session with where its attendance stands, for the managers' sessions pages."""

    session: TrainingSession
    state: str  # one of SESSION_STATES
    expected: int  # people of the caller's regions expected at it
    marked: int  # of those, how many have a mark
    last_recorded_at: datetime.datetime | None
    last_recorded_by: str  # the name of who recorded the latest mark, if known


def sessions_with_state(user, *, cohort: Cohort | None = None, to_record: bool = False, now=None):
    """The sessions of the user's cohorts (of one cohort, or all), newest first, each
    annotated with `n_expected` (people of the user's regions enrolled on or before its
    day and not withdrawn before it), `n_missing` (of those, without a mark), and who
    recorded its latest mark and when. One query, lazy: slice it before reading.

    With `to_record`, only the sessions that have started, are not cancelled, and have
    someone expected without a mark (the sheet is open and not complete).
    """
    now = now or timezone.now()
    sessions = scope_sessions(TrainingSession.objects.all(), user)
    if cohort is not None:
        sessions = sessions.filter(cohort=cohort)
    sessions = sessions.annotate(day=TruncDate("starts_at"))
    expected = scope_enrolments(
        Enrolment.objects.filter(
            cohort_id=OuterRef("cohort_id"), enrolled_on__lte=OuterRef("day")
        ).filter(Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=OuterRef("day"))),
        user,
    )
    missing = expected.exclude(
        Exists(
            Attendance.objects.filter(
                session_id=OuterRef(OuterRef("pk")), participant_id=OuterRef("participant_id")
            )
        )
    )
    latest = scope_enrolments(Attendance.objects.filter(session_id=OuterRef("pk")), user).order_by(
        "-recorded_at", "-pk"
    )
    sessions = sessions.annotate(
        n_expected=_count(expected),
        n_missing=_count(missing),
        last_recorded_at=Subquery(latest.values("recorded_at")[:1]),
        last_recorded_by=Subquery(latest.values("recorded_by_id")[:1]),
    )
    if to_record:
        sessions = sessions.filter(starts_at__lte=now, cancelled_at__isnull=True, n_missing__gt=0)
    return sessions.select_related("cohort").order_by("-starts_at", "-pk")


def session_rows(sessions, now=None) -> list[SessionRow]:
    """Read a page of `sessions_with_state` into rows with their state (one more query,
    for the names of who recorded)."""
    from django.contrib.auth import get_user_model

    now = now or timezone.now()
    sessions = list(sessions)
    ids = {s.last_recorded_by for s in sessions if s.last_recorded_by}
    names = {
        u.pk: u.get_full_name() or u.username for u in get_user_model().objects.filter(pk__in=ids)
    }
    rows = []
    for s in sessions:
        if s.cancelled_at is not None:
            state = "cancelled"
        elif s.starts_at > now:
            state = "upcoming"
        elif s.n_missing:
            state = "to_record"
        elif s.n_expected:
            state = "recorded"
        else:
            state = "nobody"
        rows.append(
            SessionRow(
                s,
                state,
                s.n_expected,
                s.n_expected - s.n_missing,
                s.last_recorded_at,
                names.get(s.last_recorded_by, ""),
            )
        )
    return rows


def attendance_history(session: TrainingSession, user):
    """The changes to a session's marks, newest first, for the people of the user's
    regions, with who made them."""
    from cohorts.models import AttendanceHistory

    return (
        scope_enrolments(AttendanceHistory.objects.filter(session=session), user)
        .select_related("participant", "changed_by")
        .order_by("-changed_at", "-pk")
    )
