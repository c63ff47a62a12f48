"""Reads. The attendance counts every later number is built from are defined here, once."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict, cast

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from cohorts.models import Attendance, Cohort, Enrolment, TrainingSession

if TYPE_CHECKING:  # django-stubs-ext is a development dependency
    from django_stubs_ext import WithAnnotations

_HOURS: "DecimalField[Decimal, Decimal]" = DecimalField(max_digits=12, decimal_places=2)


class EnrolmentCounts(TypedDict):
    """The annotations `enrolments_with_counts` adds to each enrolment."""

    n_sessions_total: int
    n_sessions_held: int
    n_present: int
    n_late: int
    n_excused: int
    n_absent: int
    n_minutes_attended: Decimal
    n_hours_remaining: Decimal
    n_hours_not_recorded: Decimal


if TYPE_CHECKING:
    EnrolmentWithCounts = WithAnnotations[Enrolment, EnrolmentCounts]


@dataclass(frozen=True)
class AttendanceCounts:
    """What happened to one enrolment so far; the input of the completion rule.

    Only the sessions that count for the enrolment are here: its cohort's sessions, not
    cancelled, on or after the day of enrolment and, after a withdrawal, up to its day
    (`certificates.rules` explains why). `sessions_held` are those that have started; a
    held session with no mark for the person is `not_recorded`.
    """

    sessions_total: int
    sessions_held: int
    present: int
    late: int
    excused: int
    absent: int
    hours_attended: Decimal
    hours_remaining: Decimal
    withdrawn: bool = False
    required_missed: int = 0
    hours_not_recorded: Decimal = Decimal(0)

    @property
    def marked(self) -> int:
        return self.present + self.late + self.excused + self.absent

    @property
    def not_recorded(self) -> int:
        # Marks exist only on started sessions (the roster refuses the others), so the
        # held sessions without a mark are the difference. A session moved to the future
        # after it was recorded keeps its marks: the maximum keeps this from going below 0.
        return max(self.sessions_held - self.marked, 0)

    @property
    def sessions_left(self) -> int:
        return self.sessions_total - self.sessions_held


# The last day of an enrolment that has not been withdrawn.
_NO_END = Value(date.max)


def counting_sessions(cohort_ref, enrolled_on_ref, withdrawn_on_ref) -> QuerySet[TrainingSession]:
    """The sessions that count for an enrolment, given expressions for its cohort, enrolment
    day and withdrawal day: not cancelled, held (or to be held) on a local day within them."""
    return TrainingSession.objects.filter(
        cohort_id=cohort_ref,
        cancelled_at__isnull=True,
        starts_at__date__gte=enrolled_on_ref,
        starts_at__date__lte=Coalesce(withdrawn_on_ref, _NO_END),
    )


def _session_totals(now) -> dict:
    sessions = counting_sessions(
        OuterRef("cohort_id"), OuterRef("enrolled_on"), OuterRef("withdrawn_on")
    ).values("cohort_id")

    def total(qs, expression):
        return Subquery(qs.annotate(v=expression).values("v")[:1])

    held = sessions.filter(starts_at__lte=now)
    # Held sessions with no mark for the person: the hours they could still have attended,
    # if the mark, once recorded, says so (reachability).
    not_recorded = held.exclude(
        Exists(
            Attendance.objects.filter(
                session_id=OuterRef("pk"), participant_id=OuterRef(OuterRef("participant_id"))
            )
        )
    )
    return {
        "n_sessions_total": Coalesce(total(sessions, Count("pk")), 0),
        "n_sessions_held": Coalesce(total(held, Count("pk")), 0),
        "n_hours_remaining": Coalesce(
            total(sessions.filter(starts_at__gt=now), Sum("planned_hours")),
            Value(Decimal(0)),
            output_field=_HOURS,
        ),
        "n_hours_not_recorded": Coalesce(
            total(not_recorded, Sum("planned_hours")), Value(Decimal(0)), output_field=_HOURS
        ),
    }


def enrolments_with_counts(
    enrolments: QuerySet[Enrolment], now=None
) -> "QuerySet[EnrolmentWithCounts]":
    """Annotate enrolments with their attendance counts, in one SQL query, from the marks.

    Marks are joined through the participant and kept to the sessions that count for the
    enrolment (`counting_sessions`). Hours attended: minutes recorded when given, else the
    session's planned hours, for present and late marks.

    This reads the marks themselves, not the progress summary (cohorts.progress): it is the
    reference the summary and the reports are tested against.
    """
    now = now or timezone.now()
    mark = "participant__attendances__"
    counts = Q(
        **{
            f"{mark}session__cohort_id": F("cohort_id"),
            f"{mark}session__cancelled_at__isnull": True,
            f"{mark}session__starts_at__date__gte": F("enrolled_on"),
            f"{mark}session__starts_at__date__lte": Coalesce(F("withdrawn_on"), _NO_END),
        }
    )

    def marks(status: str):
        return Count("participant__attendances", filter=counts & Q(**{f"{mark}status": status}))

    attended = counts & Q(
        **{f"{mark}status__in": [Attendance.Status.PRESENT, Attendance.Status.LATE]}
    )
    # Summed in minutes and divided once in Python: SQL's integer division (SQLite, and
    # PostgreSQL on integers) would turn 90 minutes into 1 hour.
    minutes = ExpressionWrapper(
        Coalesce(
            Cast(f"{mark}minutes_attended", _HOURS),
            F(f"{mark}session__planned_hours") * Value(Decimal(60)),
            output_field=_HOURS,
        ),
        output_field=_HOURS,
    )
    annotated = enrolments.annotate(
        n_present=marks(Attendance.Status.PRESENT),
        n_late=marks(Attendance.Status.LATE),
        n_excused=marks(Attendance.Status.EXCUSED),
        n_absent=marks(Attendance.Status.ABSENT),
        n_minutes_attended=Coalesce(
            Sum(minutes, filter=attended), Value(Decimal(0)), output_field=_HOURS
        ),
        **_session_totals(now),
    )
    # The plugin cannot see the annotations passed as `**_session_totals(...)`.
    return cast("QuerySet[EnrolmentWithCounts]", annotated)


def counts_of(enrolment: "EnrolmentWithCounts") -> AttendanceCounts:
    """Read the counts off an enrolment annotated by `enrolments_with_counts`."""
    return AttendanceCounts(
        sessions_total=enrolment.n_sessions_total,
        sessions_held=enrolment.n_sessions_held,
        present=enrolment.n_present,
        late=enrolment.n_late,
        excused=enrolment.n_excused,
        absent=enrolment.n_absent,
        hours_attended=(Decimal(enrolment.n_minutes_attended) / 60).quantize(Decimal("0.01")),
        hours_remaining=Decimal(enrolment.n_hours_remaining).quantize(Decimal("0.01")),
        hours_not_recorded=Decimal(enrolment.n_hours_not_recorded).quantize(Decimal("0.01")),
        withdrawn=enrolment.status == Enrolment.Status.WITHDRAWN,
    )


def cohort_roster(session: TrainingSession, user=None) -> list[tuple[Enrolment, Attendance | None]]:
    """The people expected at a session with their current mark, in two queries.

    Withdrawn participants stay on the roster for sessions before their withdrawal.
    """
    from cohorts.roles import scope_enrolments

    enrolments = Enrolment.objects.filter(cohort_id=session.cohort_id).select_related("participant")
    if user is not None:
        enrolments = scope_enrolments(enrolments, user)
    session_day = timezone.localtime(session.starts_at).date()
    enrolments = enrolments.filter(
        Q(status=Enrolment.Status.ACTIVE) | Q(withdrawn_on__gte=session_day)
    ).order_by("participant__last_name", "participant__first_name", "participant_id")
    marks = {
        a.participant_id: a
        for a in Attendance.objects.filter(session=session).select_related("recorded_by")
    }
    return [(e, marks.get(e.participant_id)) for e in enrolments]


def sessions_without_attendance(cohorts: QuerySet[Cohort], now=None) -> QuerySet[TrainingSession]:
    """Sessions that have ended with no mark recorded at all."""
    now = now or timezone.now()
    # NOT EXISTS, not a count of the marks: one index probe per session, where counting
    # joined every mark of every ended session (a million at national scale).
    return (
        TrainingSession.objects.filter(cohort__in=cohorts, ends_at__lte=now)
        .exclude(Exists(Attendance.objects.filter(session_id=OuterRef("pk"))))
        .select_related("cohort")
    )


def sessions_to_record(cohorts: QuerySet[Cohort], now=None) -> QuerySet[TrainingSession]:
    """Sessions that have ended, not cancelled, where someone expected has no mark: each
    annotated with `n_expected` (enrolled on or before its day, not withdrawn before it)
    and `n_marked`. Those with no mark at all are in it too (`n_marked` 0)."""
    now = now or timezone.now()
    sessions = TrainingSession.objects.filter(
        cohort__in=cohorts, ends_at__lte=now, cancelled_at__isnull=True
    ).annotate(day=TruncDate("starts_at"))
    expected = (
        Enrolment.objects.filter(cohort_id=OuterRef("cohort_id"), enrolled_on__lte=OuterRef("day"))
        .filter(Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=OuterRef("day")))
        .values("cohort_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    marked = (
        Attendance.objects.filter(session_id=OuterRef("pk"))
        .values("session_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        sessions.annotate(
            n_expected=Coalesce(Subquery(expected[:1]), 0),
            n_marked=Coalesce(Subquery(marked[:1]), 0),
        )
        .filter(n_marked__lt=F("n_expected"))
        .select_related("cohort")
    )
