"""Reads. The attendance counts every later number is built from are defined here, once."""

from dataclasses import dataclass
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
from django.db.models.functions import Cast, Coalesce
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


if TYPE_CHECKING:
    EnrolmentWithCounts = WithAnnotations[Enrolment, EnrolmentCounts]


@dataclass(frozen=True)
class AttendanceCounts:
    """What happened to one enrolment so far; the input of the completion rule.

    `held` sessions are those that have started; a held session with no mark yet is
    `unmarked` and counts neither for nor against the participant until it is recorded.
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

    @property
    def marked(self) -> int:
        return self.present + self.late + self.excused + self.absent

    @property
    def unmarked(self) -> int:
        return max(self.sessions_held - self.marked, 0)

    @property
    def sessions_left(self) -> int:
        return self.sessions_total - self.sessions_held


def _session_totals(cohort_ref: str, now) -> dict:
    sessions = TrainingSession.objects.filter(cohort_id=OuterRef(cohort_ref)).values("cohort_id")

    def total(qs, expression):
        return Subquery(qs.annotate(v=expression).values("v")[:1])

    return {
        "n_sessions_total": Coalesce(total(sessions, Count("pk")), 0),
        "n_sessions_held": Coalesce(total(sessions.filter(starts_at__lte=now), Count("pk")), 0),
        "n_hours_remaining": Coalesce(
            total(sessions.filter(starts_at__gt=now), Sum("planned_hours")),
            Value(Decimal(0)),
            output_field=_HOURS,
        ),
    }


def enrolments_with_counts(
    enrolments: QuerySet[Enrolment], now=None
) -> "QuerySet[EnrolmentWithCounts]":
    """Annotate enrolments with their attendance counts, in one SQL query.

    Marks are joined through the participant and kept to the enrolment's cohort.
    Hours attended: minutes recorded when given, else the session's planned hours,
    for present and late marks.
    """
    now = now or timezone.now()
    in_cohort = Q(participant__attendances__session__cohort_id=F("cohort_id"))

    def marks(status: str):
        return Count(
            "participant__attendances",
            filter=in_cohort & Q(participant__attendances__status=status),
        )

    attended = in_cohort & Q(
        participant__attendances__status__in=[Attendance.Status.PRESENT, Attendance.Status.LATE]
    )
    # Summed in minutes and divided once in Python: SQL's integer division (SQLite, and
    # PostgreSQL on integers) would turn 90 minutes into 1 hour.
    minutes = ExpressionWrapper(
        Coalesce(
            Cast("participant__attendances__minutes_attended", _HOURS),
            F("participant__attendances__session__planned_hours") * Value(Decimal(60)),
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
        **_session_totals("cohort_id", now),
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
