"""A trainee's own overview: their cohorts, sessions with their own marks, progress toward
the certificate, and the certificate itself — nobody else's.

One definition read by both the "My programme" page and the API's /me/, so the two cannot
disagree. A constant number of queries whatever the number of cohorts and sessions.
"""

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from certificates.models import Certificate
from certificates.rules import Progress
from certificates.selectors import enrolments_progress
from cohorts.models import Attendance, Enrolment, Participant, TrainingSession


@dataclass(frozen=True)
class SessionLine:
    session: TrainingSession
    past: bool  # started already: its mark is attendance history
    mark: str | None  # the trainee's own Attendance.Status, or None when not recorded

    @property
    def cancelled(self) -> bool:
        return self.session.cancelled_at is not None


@dataclass(frozen=True)
class CohortOverview:
    enrolment: Enrolment
    progress: Progress
    sessions: list[SessionLine]  # by start time
    certificate: Certificate | None

    @property
    def cohort(self):
        return self.enrolment.cohort

    @property
    def upcoming(self) -> list[SessionLine]:
        return [line for line in self.sessions if not line.past]

    @property
    def history(self) -> list[SessionLine]:
        """Sessions already started, the most recent first."""
        return [line for line in reversed(self.sessions) if line.past]


@dataclass(frozen=True)
class TraineeOverview:
    participant: Participant
    cohorts: list[CohortOverview]  # oldest programme year first

    @property
    def newest_first(self) -> list[CohortOverview]:
        return list(reversed(self.cohorts))


def trainee_sessions(participant: Participant) -> QuerySet[TrainingSession]:
    """Sessions of the cohorts the participant is enrolled in (withdrawn included: their
    history stays theirs)."""
    return TrainingSession.objects.filter(
        cohort_id__in=Enrolment.objects.filter(participant=participant).values("cohort_id")
    ).select_related("cohort")


def trainee_certificates(participant: Participant) -> QuerySet[Certificate]:
    """The participant's certificates that may be downloaded: issued, not revoked."""
    return Certificate.objects.filter(participant=participant, status=Certificate.Status.ISSUED)


def trainee_overview(participant: Participant, now=None) -> TraineeOverview:
    now = now or timezone.now()
    enrolments = Enrolment.objects.filter(participant=participant).order_by(
        "cohort__year", "cohort_id"
    )
    progress = enrolments_progress(enrolments, now=now)
    cohort_ids = [row.enrolment.cohort_id for row in progress]
    sessions = (
        TrainingSession.objects.filter(cohort_id__in=cohort_ids)
        .prefetch_related(
            Prefetch(
                "attendances",
                queryset=Attendance.objects.filter(participant=participant),
                to_attr="own_marks",
            )
        )
        .order_by("starts_at", "id")
    )
    by_cohort: dict[int, list[SessionLine]] = {}
    for session in sessions:
        by_cohort.setdefault(session.cohort_id, []).append(
            SessionLine(
                session=session,
                past=session.starts_at <= now,
                mark=session.own_marks[0].status if session.own_marks else None,
            )
        )
    certificates = {c.cohort_id: c for c in Certificate.objects.filter(participant=participant)}
    return TraineeOverview(
        participant=participant,
        cohorts=[
            CohortOverview(
                enrolment=row.enrolment,
                progress=row.progress,
                sessions=by_cohort.get(row.enrolment.cohort_id, []),
                certificate=certificates.get(row.enrolment.cohort_id),
            )
            for row in progress
        ],
    )
