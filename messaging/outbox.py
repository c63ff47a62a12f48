"""Sending the outbox: every kind of message, one mechanism.

Each outgoing message is a `Notification` row (cohorts.outbox puts them there, in the same
transaction as what they are about). A sender (`deliver`, the task `messaging.tasks.deliver`)
repeats: claim a small group of due rows with a lease (its token and an expiry), compose
them, and send them over one SMTP connection, recording each as sent in the statement
right after the server accepted it. The sender renews its lease on the rest of the group
as it goes, so a live sender keeps its rows however slow the server, and a dead one's lease
runs out within OUTBOX_LEASE_SECONDS; a row whose lease ran out is due again.

What a crash costs: a sender killed at any moment has recorded every message the server
accepted except, at most, the one on the wire, which is sent again after its lease: at
most one duplicate per crash, nothing lost. Recovery needs no human: the outbox sweep
(every minute) wakes a sender when anything is due, so a message interrupted by a kill
goes within lease + one minute (3 minutes by default), and one whose wake-up was
lost with Redis' data within a minute.

Failures, per message: a permanent refusal (an SMTP 5xx answer, an address that is not
one) is tried PERMANENT_TRIES times, then the row is marked failed with the server's
answer, for the managers and the admin to see; a transient one (4xx, a dropped
connection, a server that is down) is retried with a growing delay, and marked failed
after TRANSIENT_TRIES. A message that is no longer needed when its turn comes (the person
withdrew, the session moved again, the certificate was revoked) is dropped, with why.
"""

import contextlib
import logging
import smtplib
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from cohorts.models import Notification
from cohorts.outbox import Drop, OutgoingMessage, composer_for, sent_hook_for
from messaging.channels import Channel, Connection, EmailChannel

logger = logging.getLogger(__name__)

Status = Notification.Status

GROUP = 50  # rows claimed at a time: what a crash can leave waiting for its lease
PERMANENT_TRIES = 3
TRANSIENT_TRIES = 12  # with the delays below, about six hours of trying
RUN_SECONDS = 4 * 60  # then the task ends (its time limit is 10 minutes); the sweep goes on
_BACKOFF_MAX = 3600  # seconds
_RENEW_EVERY = timedelta(seconds=5)


def lease() -> timedelta:
    return timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


def backoff(attempts: int) -> timedelta:
    """The wait before the next try after `attempts` tries: 30 s, 1 min, 2 min... 1 h
    (OUTBOX_RETRY_SECONDS, doubling)."""
    first = settings.OUTBOX_RETRY_SECONDS
    return timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), _BACKOFF_MAX))


def due(now: datetime | None = None) -> QuerySet[Notification]:
    """Rows a sender may take now: waiting and past their backoff, or claimed by a sender
    whose lease has run out. Read on the outbox's partial index of unsent rows."""
    now = now or timezone.now()
    waiting = Q(status=Status.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    abandoned = Q(status=Status.SENDING) & (Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    return Notification.objects.filter(status__in=[Status.PENDING, Status.SENDING]).filter(
        waiting | abandoned
    )


@dataclass
class DeliveryResult:
    sent: int = 0
    retrying: int = 0  # failed this time, to be tried again later
    failed: int = 0  # given up on, marked failed
    dropped: int = 0  # no longer needed

    def as_dict(self) -> dict:
        return {
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "dropped": self.dropped,
        }


def deliver(
    *,
    channel: Channel | None = None,
    seconds: float = RUN_SECONDS,
    progress: Callable[[DeliveryResult], None] | None = None,
) -> DeliveryResult:
    """Send what is due, group after group, until nothing is or `seconds` have passed
    (`progress` hears the running totals after each group)."""
    channel = channel or EmailChannel()
    result = DeliveryResult()
    started = time.monotonic()
    with _commits_without_waiting_for_the_disk():
        _deliver(channel, seconds, progress, result, started)
    return result


@contextlib.contextmanager
def _commits_without_waiting_for_the_disk():
    """Each message is recorded in a commit of its own. On PostgreSQL, such a commit
    waits for the disk (a sync, several milliseconds here: bench/reminders.py measured the
    sender at 2.4 times Django's plain sending with it, 1.3 without). Without the wait, a
    crashed *worker* loses nothing (its commits are with the server already); only a crash
    of the database server itself may forget the last fraction of a second of records
    (PostgreSQL's `synchronous_commit = off`: at most three times wal_writer_delay), and
    those messages would go again. For this connection, for this run only."""
    if db_connection.vendor != "postgresql":
        yield
        return
    with db_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        with db_connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _deliver(channel, seconds, progress, result: DeliveryResult, started: float) -> None:
    opened = None
    connection: Connection | None = None
    try:
        while time.monotonic() - started < seconds:
            token, rows = _claim()
            if not rows:
                break
            if connection is None:
                try:
                    opened = channel.open()
                    connection = opened.__enter__()
                except Exception as exc:  # the server is down: nothing was tried
                    logger.warning("outbox: cannot reach the mail server: %s", exc)
                    for row in rows:
                        _record_failure(row, token, exc, permanent=False, result=result)
                    break
            going_on = _send_group(rows, token, connection, result)
            if progress is not None:
                progress(result)
            if not going_on:
                break
    finally:
        if opened is not None:
            opened.__exit__(None, None, None)


def _claim() -> tuple[str, list[Notification]]:
    token, now = uuid.uuid4().hex, timezone.now()
    with transaction.atomic():
        ids = list(
            due(now)
            .order_by("priority", "id")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:GROUP]
        )
        if not ids:
            return token, []
        # Due again in the same statement: without row locks (SQLite), another sender may
        # have claimed some of them since they were read.
        due(now).filter(pk__in=ids).update(
            status=Status.SENDING,
            claim=token,
            claimed_at=now,
            lease_until=now + lease(),
            attempts=F("attempts") + 1,
        )
    rows = (
        Notification.objects.filter(claim=token, status=Status.SENDING)
        .select_related("participant", "user", "session__cohort")
        .order_by("priority", "id")
    )
    return token, list(rows)


def _compose(rows: list[Notification]) -> dict[int, OutgoingMessage | Drop | Exception]:
    by_kind: dict[str, list[Notification]] = defaultdict(list)
    for row in rows:
        by_kind[row.kind].append(row)
    composed: dict[int, OutgoingMessage | Drop | Exception] = {}
    for kind, group in by_kind.items():
        try:
            composed.update(composer_for(kind)(group))
        except Exception as exc:  # a bug or a missing file: these rows retry, the rest go
            logger.exception("outbox: cannot compose %s messages", kind)
            composed.update({row.pk: exc for row in group})
    return composed


def _send_group(
    rows: list[Notification], token: str, connection: Connection, result: DeliveryResult
) -> bool:
    """Send one claimed group; False if the connection broke (the rest is released)."""
    composed = _compose(rows)
    deadline = rows[0].lease_until or timezone.now()
    for index, row in enumerate(rows):
        item = composed.get(row.pk, Drop("nothing composed"))
        if isinstance(item, Drop):
            _record_drop(row, token, item.reason, result)
            continue
        if isinstance(item, Exception):
            _record_failure(row, token, item, permanent=False, result=result)
            continue
        left = deadline - timezone.now()
        if left < lease() - min(_RENEW_EVERY, lease() / 3):
            # A sign of life every few seconds: a live sender keeps its rows however slow
            # the server (one statement now and then, not one per message).
            deadline = _renew(token)
            left = deadline - timezone.now()
        if left < timedelta(seconds=settings.EMAIL_TIMEOUT):
            # The lease could lapse mid-message and another sender take the row (a lease
            # shorter than EMAIL_TIMEOUT allows): hand the rest back and stop this run.
            logger.warning("outbox: lease too short for EMAIL_TIMEOUT; run stopped")
            _release(rows[index:], token)
            return False
        try:
            connection.send(item)
        except Exception as exc:
            permanent, broken = _classify(exc)
            _record_failure(row, token, exc, permanent=permanent, result=result, address=item.to)
            if broken:
                _release(rows[index + 1 :], token, wait=backoff(1))
                return False
            continue
        _record_sent(row, token, item.to)
        result.sent += 1
    return True


def _classify(exc: Exception) -> tuple[bool, bool]:
    """(permanent, connection broken) for an error sending one message."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes), False
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return False, True
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500, exc.smtp_code == 421  # 421: the server closes the line
    if isinstance(exc, OSError):  # (smtplib's other errors are OSErrors too)
        return False, True
    if isinstance(exc, ValueError | UnicodeError):  # not an address
        return True, False
    return False, False


def _mine(row: Notification, token: str) -> QuerySet[Notification]:
    return Notification.objects.filter(pk=row.pk, claim=token, status=Status.SENDING)


# The one statement per message, written out: the ORM's building of it cost about as much
# as running it (profiled with bench/reminders.py).
_MARK_SENT = (
    f"UPDATE {Notification._meta.db_table} SET status = %s, sent_at = %s, address = %s,"  # noqa: S608 (names only)
    " lease_until = NULL WHERE id = %s AND claim = %s AND status = %s"
)


def _record_sent(row: Notification, token: str, address: str) -> None:
    """Mark the row sent, if still this sender's (and the kind's hook in the same
    transaction)."""
    hook = sent_hook_for(row.kind)
    now = timezone.now()
    with transaction.atomic() if hook else contextlib.nullcontext():
        with db_connection.cursor() as cursor:
            cursor.execute(
                _MARK_SENT,
                [Status.SENT, now, address[:254], row.pk, token, Status.SENDING],
            )
            updated = cursor.rowcount
        if hook is not None:
            hook([row], now)
    if not updated:
        logger.warning("outbox: %s sent after its lease ran out", row.key)


def _renew(token: str) -> datetime:
    """Extend the lease on the group's rows not sent yet; return its new end."""
    until = timezone.now() + lease()
    Notification.objects.filter(claim=token, status=Status.SENDING).update(lease_until=until)
    return until


def _record_failure(
    row: Notification,
    token: str,
    exc: Exception,
    *,
    permanent: bool,
    result: DeliveryResult,
    address: str = "",
) -> None:
    tries = PERMANENT_TRIES if permanent else TRANSIENT_TRIES
    answer = _answer(exc)
    recorded = {"last_error": answer, "lease_until": None}
    if address:
        recorded["address"] = address[:254]
    if row.attempts >= tries:
        _mine(row, token).update(status=Status.FAILED, **recorded)
        logger.warning("outbox: %s failed after %s tries: %s", row.key, row.attempts, answer)
        result.failed += 1
        return
    _mine(row, token).update(
        status=Status.PENDING, next_attempt_at=timezone.now() + backoff(row.attempts), **recorded
    )
    result.retrying += 1


def _record_drop(row: Notification, token: str, reason: str, result: DeliveryResult) -> None:
    _mine(row, token).update(status=Status.DROPPED, last_error=reason, lease_until=None)
    result.dropped += 1


def _release(rows: list[Notification], token: str, wait: timedelta | None = None) -> None:
    """Hand back rows claimed and not tried: due again (after `wait`), their try uncounted."""
    if not rows:
        return
    Notification.objects.filter(
        pk__in=[r.pk for r in rows], claim=token, status=Status.SENDING
    ).update(
        status=Status.PENDING,
        lease_until=None,
        attempts=F("attempts") - 1,
        next_attempt_at=timezone.now() + wait if wait else None,
    )


def _answer(exc: Exception) -> str:
    """The server's answer as people can read it ("550 5.1.1 User unknown")."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = exc.recipients.items()
        return "; ".join(f"{to}: {code} {_text(message)}" for to, (code, message) in refused)
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"[:1000]


def _text(message: bytes | str) -> str:
    return message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
