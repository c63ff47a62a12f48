"""Session notices: which are due (derived from the database), put in the outbox once.

Due notices are re-derived on every sweep, so a lost task or a Redis restart only delays
them. Each goes into the outbox under its key (`notice_key`), which is unique: whatever
runs twice, a notice is there once, and the outbox sends it at most once per crash
(messaging.outbox). What it says is composed when it is sent, from the session as it is
then; a reminder whose session has moved or been cancelled since is dropped (the change
or cancellation notice says what is new).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from cohorts.models import Enrolment, Notification, TrainingSession
from cohorts.outbox import Drop, composes, outbox_put
from messaging.channels import OutgoingMessage
from messaging.compose import session_notice
from messaging.naming import unnamed_in_emails

Kind = Notification.Kind


@dataclass(frozen=True)
class Due:
    kind: str
    session_id: int
    participant_id: int
    key: str


def _stamp(session: TrainingSession) -> str:
    return session.starts_at.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def notice_key(kind: str, session: TrainingSession, participant_id: int, hours: int = 0) -> str:
    """The notice's identity: a reminder is per offset and per start time (a moved session
    gets new reminders); a change notice per new start time; a cancellation once."""
    base = f"{kind}:s{session.pk}:p{participant_id}"
    if kind == Kind.REMINDER:
        return f"{base}:{hours}h:{_stamp(session)}"
    if kind == Kind.CHANGED:
        return f"{base}:{_stamp(session)}"
    return base


@dataclass
class DueNotices:
    notices: list[Due]
    skipped: Counter  # why people were left out: "withdrawn", "no_email"


def notices_due(now=None, session_ids=None) -> DueNotices:
    """Every notice that should have gone out by `now` and is not in the outbox, in four
    queries."""
    now = now or timezone.now()
    offsets = settings.REMINDER_OFFSETS_HOURS
    horizon = now + timedelta(hours=max(offsets, default=0))
    # Upcoming sessions in a reminder window, cancelled ones, and moved ones (already
    # reminded, maybe of another date, even if now beyond the window).
    noticed = Notification.objects.filter(session_id=OuterRef("pk"))
    candidates = TrainingSession.objects.filter(starts_at__gt=now).filter(
        Q(starts_at__lte=horizon) | Q(cancelled_at__isnull=False) | Exists(noticed)
    )
    if session_ids is not None:
        candidates = candidates.filter(pk__in=session_ids)
    sessions = list(candidates)
    by_cohort: dict[int, list[TrainingSession]] = {}
    for session in sessions:
        by_cohort.setdefault(session.cohort_id, []).append(session)
    enrolments = Enrolment.objects.filter(cohort_id__in=by_cohort).select_related("participant")
    logged = list(Notification.objects.filter(session__in=sessions).values_list("key", "status"))
    sent = {key for key, _status in logged}
    # For each (session, person): the start times they were reminded of (from the keys of
    # the reminders that went out, or may have: one on the wire when its sender died).
    reminded: dict[tuple[int, int], set[str]] = {}
    told = {Notification.Status.SENT, Notification.Status.SENDING}
    for key, status in logged:
        if key.startswith(f"{Kind.REMINDER}:") and status in told:
            _kind, session_ref, participant_ref, _hours, stamp = key.split(":")
            pair = (int(session_ref[1:]), int(participant_ref[1:]))
            reminded.setdefault(pair, set()).add(stamp)
    notices: list[Due] = []
    skipped: Counter[str] = Counter()
    for enrolment in enrolments:
        for session in by_cohort[enrolment.cohort_id]:
            if enrolment.status != Enrolment.Status.ACTIVE:
                skipped["withdrawn"] += 1
                continue
            if not enrolment.participant.email:
                skipped["no_email"] += 1
                continue
            for due in _due_for(session, enrolment.participant_id, now, offsets, reminded):
                if due.key not in sent:
                    notices.append(due)
    return DueNotices(notices, skipped)


def _due_for(session, participant_id, now, offsets, reminded):
    if session.cancelled_at is not None:
        # Tell those who were reminded of it; the others never planned on it.
        if (session.pk, participant_id) in reminded:
            yield Due(Kind.CANCELLED, session.pk, participant_id,
                      notice_key(Kind.CANCELLED, session, participant_id))  # fmt: skip
        return
    opened = [h for h in offsets if now >= session.starts_at - timedelta(hours=h)]
    if opened:
        # Only the nearest reminder: a session booked three days ahead gets the one-day
        # reminder, not a late "one week before".
        hours = min(opened)
        yield Due(Kind.REMINDER, session.pk, participant_id,
                  notice_key(Kind.REMINDER, session, participant_id, hours))  # fmt: skip
    if reminded.get((session.pk, participant_id), {_stamp(session)}) != {_stamp(session)}:
        # Reminded of another start time: tell them it moved (once per new time).
        yield Due(Kind.CHANGED, session.pk, participant_id,
                  notice_key(Kind.CHANGED, session, participant_id))  # fmt: skip


def notices_put(notices: list[Due], *, deliver: bool = True) -> int:
    """Put the notices in the outbox (those already there stay as they are); with
    `deliver`, a sender runs after the commit. Return how many were new."""
    return outbox_put(
        (
            Notification(
                key=n.key, kind=n.kind, participant_id=n.participant_id, session_id=n.session_id
            )
            for n in notices
        ),
        deliver=deliver,
    )


@composes(Kind.REMINDER, Kind.CHANGED, Kind.CANCELLED)
def compose_notices(rows: list[Notification]) -> dict[int, OutgoingMessage | Drop]:
    """Each notice from its session as it is now, or dropped if it no longer applies."""
    active = set(
        Enrolment.objects.filter(
            participant_id__in={r.participant_id for r in rows},
            cohort_id__in={r.session.cohort_id for r in rows if r.session},
            status=Enrolment.Status.ACTIVE,
        ).values_list("participant_id", "cohort_id")
    )
    # Read with the enrolments above' group: who asked not to be named (one query).
    unnamed = unnamed_in_emails(r.participant_id for r in rows if r.participant_id)
    composed: dict[int, OutgoingMessage | Drop] = {}
    for row in rows:
        session, participant = row.session, row.participant
        if session is None or participant is None:
            composed[row.pk] = Drop("the session or the person is gone")
        elif (participant.pk, session.cohort_id) not in active:
            composed[row.pk] = Drop("withdrawn from the cohort")
        elif not participant.email:
            composed[row.pk] = Drop("no e-mail address")
        elif row.kind != Kind.CANCELLED and session.cancelled_at is not None:
            composed[row.pk] = Drop("the session was cancelled since")
        elif row.kind != Kind.CANCELLED and not row.key.endswith(_stamp(session)):
            composed[row.pk] = Drop("the session moved since")
        else:
            composed[row.pk] = session_notice(row.kind, participant, session, unnamed)
    return composed
