"""Writes. Every change to the domain goes through one of these functions.

Each runs in a transaction, validates everything before writing anything, records the
history of attendance and enrolments, and returns what it wrote.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cohorts.errors import Conflict, LineError, LineErrors
from cohorts.models import (
    Attendance,
    AttendanceHistory,
    ChangeAction,
    Cohort,
    Enrolment,
    EnrolmentHistory,
    Participant,
    Programme,
    Region,
    TrainingSession,
)
from cohorts.progress import progress_recount, progress_refresh
from cohorts.queue import enqueue_on_commit
from cohorts.report_cache import reports_changed
from cohorts.validation import (
    enrolment_date_error,
    local_date,
    minutes_attended_error,
    session_minutes,
    validate_cohort_year,
    validate_session_dates,
)

_PARTICIPANT_FIELDS = {
    "first_name",
    "last_name",
    "first_name_ar",
    "last_name_ar",
    "sex",
    "role",
    "position",
    "region",
    "email",
    "phone",
    "preferred_language",
    "consent_date",
    "user",
}


def _snapshot(obj, fields: Iterable[str]) -> dict:
    """A JSON-ready copy of some fields, for the history tables."""
    out = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = value.isoformat() if isinstance(value, date | datetime) else value
    return out


def normalise_email(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value or None


# Participants -------------------------------------------------------------------------


@transaction.atomic
def participant_create(**fields) -> Participant:
    unknown = set(fields) - _PARTICIPANT_FIELDS
    if unknown:
        raise TypeError(f"unknown participant fields: {sorted(unknown)}")
    fields["email"] = normalise_email(fields.get("email"))
    participant = Participant(**fields)
    participant.full_clean()
    participant.save()
    return participant


@transaction.atomic
def participant_update(*, participant: Participant, **fields) -> Participant:
    unknown = set(fields) - _PARTICIPANT_FIELDS
    if unknown:
        raise TypeError(f"unknown participant fields: {sorted(unknown)}")
    if "email" in fields:
        fields["email"] = normalise_email(fields["email"])
    for name, value in fields.items():
        setattr(participant, name, value)
    participant.full_clean()
    participant.save(update_fields=[*fields, "updated_at"])
    return participant


# Cohorts and sessions -----------------------------------------------------------------


@transaction.atomic
def cohort_create(
    *,
    programme: Programme,
    code: str,
    name: str,
    year: int,
    regions: Iterable[Region],
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Cohort:
    regions = list(regions)
    cohort = Cohort(
        programme=programme,
        code=code,
        name=name,
        year=year,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    cohort.full_clean()
    validate_cohort_year(programme, year)
    if not regions:
        raise ValidationError({"regions": _("A cohort covers at least one region.")})
    cohort.save()
    cohort.regions.set(regions)
    return cohort


@transaction.atomic
def session_create(*, cohort: Cohort, **fields) -> TrainingSession:
    session = TrainingSession(cohort=cohort, **fields)
    validate_session_dates(cohort, session.starts_at, session.ends_at)
    session.full_clean()
    session.save()
    return session


def _notify_session(session_id: int) -> None:
    """After commit, send what a change makes due (a "changed" or "cancelled" notice)."""
    enqueue_on_commit("messaging.tasks.sweep_notices", session_ids=[session_id])


@transaction.atomic
def session_update(*, session: TrainingSession, **fields) -> TrainingSession:
    # Compared with the stored value: callers such as the admin set the fields beforehand.
    stored = TrainingSession.objects.filter(pk=session.pk).values_list("starts_at", flat=True)
    moved = "starts_at" in fields and fields["starts_at"] != stored.first()
    for name, value in fields.items():
        setattr(session, name, value)
    validate_session_dates(session.cohort, session.starts_at, session.ends_at)
    session.full_clean()
    session.save(update_fields=list(fields))
    if moved:
        _notify_session(session.pk)
    return session


@transaction.atomic
def session_cancel(*, session: TrainingSession, by=None) -> TrainingSession:
    """Cancel a session that has not started; those reminded of it are told."""
    if session.starts_at <= timezone.now():
        raise ValidationError({"session": _("A session that has started cannot be cancelled.")})
    cancelled = TrainingSession.objects.filter(pk=session.pk, cancelled_at__isnull=True).update(
        cancelled_at=timezone.now()
    )
    if not cancelled:
        raise ValidationError({"session": _("This session is already cancelled.")})
    session.refresh_from_db()
    # An update() sends no signal: refresh the cohort's summaries here.
    reports_changed(progress_refresh(cohort_ids=[session.cohort_id]))
    _notify_session(session.pk)
    return session


# Enrolments ---------------------------------------------------------------------------

_ENROLMENT_FIELDS = ("status", "enrolled_on", "withdrawn_on", "withdrawal_reason")


def _enrolment_history(enrolment, action, before, by, now) -> EnrolmentHistory:
    return EnrolmentHistory(
        enrolment=enrolment,
        action=action,
        before=before,
        after=_snapshot(enrolment, _ENROLMENT_FIELDS),
        changed_by=by,
        changed_at=now,
    )


@transaction.atomic
def enrolment_create(
    *, participant: Participant, cohort: Cohort, enrolled_on: date | None = None, by=None
) -> Enrolment:
    now = timezone.now()
    enrolment = Enrolment(
        participant=participant, cohort=cohort, enrolled_on=enrolled_on or local_date(now)
    )
    enrolment.full_clean()
    wrong = enrolment_date_error(cohort, enrolment.enrolled_on)
    if wrong:
        raise ValidationError({"enrolled_on": wrong})
    enrolment.save()
    _enrolment_history(enrolment, ChangeAction.CREATED, None, by, now).save()
    return enrolment


@transaction.atomic
def enrolment_withdraw(
    *, enrolment: Enrolment, withdrawn_on: date | None = None, reason: str = "", by=None
) -> Enrolment:
    now = timezone.now()
    enrolment = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
    if enrolment.status == Enrolment.Status.WITHDRAWN:
        raise ValidationError({"status": _("This participant has already withdrawn.")})
    before = _snapshot(enrolment, _ENROLMENT_FIELDS)
    enrolment.status = Enrolment.Status.WITHDRAWN
    enrolment.withdrawn_on = withdrawn_on or local_date(now)
    enrolment.withdrawal_reason = reason
    enrolment.full_clean()
    enrolment.save(update_fields=["status", "withdrawn_on", "withdrawal_reason"])
    _enrolment_history(enrolment, ChangeAction.UPDATED, before, by, now).save()
    return enrolment


@transaction.atomic
def enrolment_reactivate(*, enrolment: Enrolment, by=None) -> Enrolment:
    now = timezone.now()
    enrolment = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
    if enrolment.status == Enrolment.Status.ACTIVE:
        return enrolment
    before = _snapshot(enrolment, _ENROLMENT_FIELDS)
    enrolment.status = Enrolment.Status.ACTIVE
    enrolment.withdrawn_on = None
    enrolment.withdrawal_reason = ""
    enrolment.save(update_fields=["status", "withdrawn_on", "withdrawal_reason"])
    _enrolment_history(enrolment, ChangeAction.UPDATED, before, by, now).save()
    return enrolment


# Attendance ---------------------------------------------------------------------------

_MARK_FIELDS = ("status", "minutes_attended", "note")
# A CharField: its max_length is always set.
_NOTE_MAX = cast(int, Attendance._meta.get_field("note").max_length)


@dataclass(frozen=True)
class Mark:
    """One line of a roster: a participant's status for the session."""

    participant_id: int
    status: str
    note: str = ""
    minutes_attended: int | None = None


def _check_marks(session: TrainingSession, marks: list[Mark]) -> dict[int, Enrolment]:
    """Check every line; raise LineErrors listing all the bad ones."""
    ids = {m.participant_id for m in marks if isinstance(m.participant_id, int)}
    enrolments = {
        e.participant_id: e
        for e in Enrolment.objects.filter(cohort_id=session.cohort_id, participant_id__in=ids)
    }
    statuses = set(Attendance.Status.values)
    max_minutes = session_minutes(session)
    session_day = local_date(session.starts_at)
    errors: list[LineError] = []
    seen: set[int] = set()
    for line, mark in enumerate(marks, start=1):
        enrolment = enrolments.get(mark.participant_id)
        if enrolment is None:
            errors.append(
                LineError(line, "participant", _("This person is not enrolled in the cohort."))
            )
        elif mark.participant_id in seen:
            errors.append(
                LineError(line, "participant", _("This person appears twice in the roster."))
            )
        elif (
            enrolment.status == Enrolment.Status.WITHDRAWN
            and enrolment.withdrawn_on is not None
            and enrolment.withdrawn_on < session_day
        ):
            errors.append(
                LineError(
                    line,
                    "participant",
                    _("This person withdrew on %(date)s, before the session.")
                    % {"date": enrolment.withdrawn_on},
                )
            )
        seen.add(mark.participant_id)
        if mark.status not in statuses:
            errors.append(
                LineError(
                    line,
                    "status",
                    _("Unknown status “%(status)s”: use present, late, excused or absent.")
                    % {"status": mark.status},
                )
            )
        if mark.minutes_attended is not None:
            wrong = minutes_attended_error(mark.minutes_attended, max_minutes)
            if wrong:
                errors.append(LineError(line, "minutes_attended", wrong))
        if len(mark.note or "") > _NOTE_MAX:
            errors.append(
                LineError(
                    line,
                    "note",
                    _("The note is too long (%(max)s characters at most).") % {"max": _NOTE_MAX},
                )
            )
    if errors:
        raise LineErrors(errors)
    return enrolments


@transaction.atomic
def attendance_roster_record(
    *, session: TrainingSession, marks: list[Mark], recorded_by=None
) -> list[Attendance]:
    """Record a whole roster at once, as an upsert: all lines are saved, or none.

    The cost is a constant number of queries whatever the roster's size.
    """
    now = timezone.now()
    if session.starts_at > now:
        raise ValidationError(
            {"session": _("Attendance cannot be recorded before the session starts.")}
        )
    enrolments = _check_marks(session, marks)
    # One roster save per session at a time: the session's row is the lock. Locking the
    # marks alone would not do on a first recording (no row yet to lock), and two saves
    # would both insert the same mark (a duplicate key). The second save waits, then
    # updates what the first created.
    TrainingSession.objects.select_for_update().filter(pk=session.pk).values_list("pk").first()
    existing = {
        a.participant_id: a
        for a in Attendance.objects.select_for_update().filter(
            session=session, participant_id__in=[m.participant_id for m in marks]
        )
    }
    created, updated, history = [], [], []
    for mark in marks:
        values = {
            "status": mark.status,
            "minutes_attended": mark.minutes_attended,
            "note": (mark.note or "").strip(),
        }
        current = existing.get(mark.participant_id)
        if current is None:
            current = Attendance(
                session=session,
                participant_id=mark.participant_id,
                recorded_by=recorded_by,
                recorded_at=now,
                **values,
            )
            created.append(current)
            action, before = ChangeAction.CREATED, None
        else:
            before = _snapshot(current, _MARK_FIELDS)
            if before == values:
                continue  # unchanged: no write, no history line
            for name, value in values.items():
                setattr(current, name, value)
            current.recorded_by = recorded_by
            current.recorded_at = now
            updated.append(current)
            action = ChangeAction.UPDATED
        history.append(
            AttendanceHistory(
                session=session,
                participant_id=mark.participant_id,
                action=action,
                before=before,
                after=values,
                changed_by=recorded_by,
                changed_at=now,
            )
        )
    try:
        Attendance.objects.bulk_create(created)
    except IntegrityError as exc:
        # Only if a mark was inserted by a path that does not take the session's lock.
        raise Conflict(
            _(
                "Someone else recorded this session at the same moment. Nothing was saved: "
                "reload the sheet and save again."
            )
        ) from exc
    Attendance.objects.bulk_update(updated, [*_MARK_FIELDS, "recorded_by", "recorded_at"])
    AttendanceHistory.objects.bulk_create(history)
    if history:
        # Bulk writes send no signal: recount the marks of the people marked.
        changed = [enrolments[h.participant_id].pk for h in history]
        year = timezone.localtime(session.starts_at).year
        reports_changed(progress_recount(changed, years=[year]))
        _check_alerts(session.cohort_id)
    return [*created, *updated]


def _check_alerts(cohort_id: int) -> None:
    """After commit, look for participants who just crossed the attendance threshold."""
    enqueue_on_commit("messaging.tasks.sweep_alerts", cohort_ids=[cohort_id])


def attendance_record(
    *,
    session: TrainingSession,
    participant: Participant,
    status: str,
    note: str = "",
    minutes_attended: int | None = None,
    recorded_by=None,
) -> Attendance:
    """Record one participant's mark for a session (a roster of one line)."""
    try:
        attendance_roster_record(
            session=session,
            marks=[Mark(participant.pk, status, note, minutes_attended)],
            recorded_by=recorded_by,
        )
    except LineErrors as exc:
        raise ValidationError({e.field: e.message for e in exc.errors}) from exc
    return Attendance.objects.get(session=session, participant=participant)
