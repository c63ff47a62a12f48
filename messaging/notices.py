"""Session notices: which are due (derived from the database), and sending them once.

Due notices are re-derived on every sweep, so a lost task or a Redis restart only delays
them. Sending claims each notice in the sent-log first (`Notification.key` is unique):
whatever runs twice, a notice goes out at most once. A sender killed mid-batch leaves its
claims behind; the sweep releases them after CLAIM_TIMEOUT, so those notices go out late
rather than never (any of them the SMTP server had already accepted goes out twice).
"""

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from cohorts.models import Enrolment, Notification, TrainingSession
from messaging.channels import Channel, EmailChannel
from messaging.compose import session_notice

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


# A claim still "sending" after this long was left by a sender that died mid-batch (a
# killed worker): no send runs longer (worker/celery.py's task_time_limit is 10 minutes).
# Seconds; the setting NOTICE_CLAIM_TIMEOUT overrides it.
CLAIM_TIMEOUT = 15 * 60


def notices_due(now=None, session_ids=None) -> DueNotices:
    """Every notice that should have gone out by `now` and has not, in four queries.

    Claims of senders that died before recording them are released first, so their
    notices are due again instead of stuck in "sending".
    """
    # Claims age by the clock; `now` only places the reminder windows.
    timeout = timedelta(seconds=getattr(settings, "NOTICE_CLAIM_TIMEOUT", CLAIM_TIMEOUT))
    Notification.objects.filter(
        status=Notification.Status.SENDING, claimed_at__lt=timezone.now() - timeout
    ).delete()
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
    sent = set(Notification.objects.filter(session__in=sessions).values_list("key", flat=True))
    # For each (session, person): the start times they were reminded of (from the keys).
    reminded: dict[tuple[int, int], set[str]] = {}
    for key in sent:
        if key.startswith(f"{Kind.REMINDER}:"):
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


@dataclass(frozen=True)
class SendResult:
    sent: int
    already: int  # claimed by someone else: sent before, or being sent now
    failed: int


def notices_send(notices: list[Due], channel: Channel | None = None) -> SendResult:
    """Claim, send over one connection, record. A constant number of queries per batch.

    If the channel is unreachable, the claims are released and the error propagates, so
    the task can retry the batch later; nothing was sent, nothing is lost.
    """
    channel = channel or EmailChannel()
    now = timezone.now()
    claim = uuid.uuid4().hex
    Notification.objects.bulk_create(
        [
            Notification(key=n.key, kind=n.kind, participant_id=n.participant_id,
                         session_id=n.session_id, channel=channel.name,
                         status=Notification.Status.SENDING, claim=claim, claimed_at=now)
            for n in notices
        ],
        ignore_conflicts=True,
    )  # fmt: skip
    mine = list(
        Notification.objects.filter(claim=claim).select_related("participant", "session__cohort")
    )
    try:
        results = channel.send_batch(
            [session_notice(n.kind, n.participant, n.session) for n in mine]
        )
    except Exception:
        Notification.objects.filter(claim=claim, status=Notification.Status.SENDING).delete()
        raise
    ok = [n.pk for n, sent in zip(mine, results, strict=True) if sent]
    Notification.objects.filter(pk__in=ok).update(
        status=Notification.Status.SENT, sent_at=timezone.now()
    )
    # Failed ones are released: the next sweep tries them again.
    Notification.objects.filter(claim=claim, status=Notification.Status.SENDING).delete()
    return SendResult(sent=len(ok), already=len(notices) - len(mine), failed=len(mine) - len(ok))
