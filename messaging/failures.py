"""Messages the outbox gave up on, for the people who can act on them: the managers (their
home page, the cohort's progress page, their weekly digest) and the admin.

A failed message is one the mail server refused for good (a 5xx answer: no such mailbox)
or that kept failing for hours; `last_error` holds the server's answer. The usual fix is a
corrected address, then "Try again" in the admin.
"""

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from cohorts.models import Notification
from cohorts.roles import region_scope

Status = Notification.Status


def failed_messages(user, *, since: datetime | None = None) -> QuerySet[Notification]:
    """Failed messages to the people in `user`'s regions (every region for an all-regions
    manager), and those to `user` themselves; most recent first."""
    failed = Notification.objects.filter(status=Status.FAILED).select_related(
        "participant", "user", "session__cohort"
    )
    scope = region_scope(user)
    if scope is not None:
        failed = failed.filter(Q(participant__region_id__in=scope) | Q(user=user))
    if since is not None:  # given up on since then (its last try)
        failed = failed.filter(claimed_at__gte=since)
    return failed.order_by("-created_at", "-id")


def failed_by_participant(participant_ids: list[int]) -> dict[int, Notification]:
    """The latest failed message of each of these people (for a badge beside their name)."""
    latest: dict[int, Notification] = {}
    rows = Notification.objects.filter(
        status=Status.FAILED, participant_id__in=participant_ids
    ).order_by("participant_id", "-created_at", "-id")
    for row in rows:
        latest.setdefault(row.participant_id, row)  # type: ignore[arg-type]
    return latest


def failures_this_week(user, now: datetime) -> list[Notification]:
    return list(failed_messages(user, since=now - timedelta(days=7))[:50])
