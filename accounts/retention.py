"""Retention: people's names and contact details are not kept for ever.

`RETENTION_YEARS` after the last session of their last cohort, a person is anonymised:
their names in both scripts, e-mail, phone and position are removed, their account is
disabled and emptied, the addresses of the messages sent to them, the names in the history
of corrections and in the admin's log are removed, and their certificates' stored PDFs
(which print the name) are deleted. Kept: sex, role and region, their enrolments, marks and
certificates as rows, so the reports count them as before and a certificate still
verifies, by its code or by a PDF the holder kept (its hash), saying "holder's details
removed". A person is anonymised once (`Anonymisation`), so running it again changes
nothing.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, QuerySet
from django.utils import timezone

from accounts.models import Anonymisation, IdentityChange
from cohorts.models import Notification, Participant, TrainingSession

REMOVED = "—"


def cutoff(now: datetime.datetime, years: int) -> datetime.datetime:
    """The moment `years` before now (29 February falls back to the 28th)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def retention_due(*, now: datetime.datetime | None = None, years: int | None = None) -> QuerySet:
    """People not yet anonymised whose last cohort's last session ended before the cutoff,
    each annotated with `last_ended`."""
    now = now or timezone.now()
    years = settings.RETENTION_YEARS if years is None else years
    last = (
        TrainingSession.objects.filter(cohort__enrolments__participant=OuterRef("pk"))
        .order_by()
        .values("cohort__enrolments__participant")
        .annotate(last=Max("ends_at"))
        .values("last")
    )
    return (
        Participant.objects.annotate(
            last_ended=last,
            done=Exists(Anonymisation.objects.filter(participant=OuterRef("pk"))),
        )
        .filter(last_ended__lt=cutoff(now, years), done=False)
        .order_by("pk")
    )


@transaction.atomic
def participant_anonymise(*, participant: Participant, last_ended: datetime.datetime) -> None:
    """Remove the person's name and contact details everywhere they are stored."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    if Anonymisation.objects.filter(participant=participant).exists():
        return
    Participant.objects.filter(pk=participant.pk).update(
        first_name=REMOVED,
        last_name=REMOVED,
        first_name_ar="",
        last_name_ar="",
        email=None,
        phone="",
        position="",
        updated_at=timezone.now(),
    )
    user = participant.user
    messages = Notification.objects.filter(participant=participant)
    if user is not None:
        messages = messages | Notification.objects.filter(user=user)
        user.username = f"anonymised-{user.pk}"
        user.first_name = user.last_name = user.email = ""
        user.is_active = False
        user.set_unusable_password()  # also ends their open sessions
        user.save()
        _delete_tokens(user)
    messages.filter(status__in=["pending", "sending"]).update(status="dropped")
    messages.update(address="", last_error="")
    for change in IdentityChange.objects.filter(participant=participant):
        change.before = dict.fromkeys(change.before)
        change.after = dict.fromkeys(change.after)
        change.save(update_fields=["before", "after"])
    _scrub_admin_log(participant, user)
    _delete_certificate_files(participant)
    Anonymisation.objects.create(
        participant=participant,
        last_cohort_ended=timezone.localtime(last_ended).date(),
        anonymised_at=timezone.now(),
    )


def _delete_tokens(user) -> None:
    from django.apps import apps

    if apps.is_installed("rest_framework.authtoken"):
        apps.get_model("authtoken", "Token").objects.filter(user=user).delete()


def _scrub_admin_log(participant: Participant, user) -> None:
    rows = [(ContentType.objects.get_for_model(Participant), participant.pk)]
    if user is not None:
        rows.append((ContentType.objects.get_for_model(get_user_model()), user.pk))
    for content_type, pk in rows:
        LogEntry.objects.filter(content_type=content_type, object_id=str(pk)).update(
            object_repr=REMOVED
        )


def _delete_certificate_files(participant: Participant) -> None:
    """The stored PDFs print the name: delete them (their hashes stay, so a copy the holder
    kept still verifies). Read through the relation: certificates sit beside this room."""
    for certificate in participant.certificates.all():
        names = {certificate.pdf.name, *(f.pdf.name for f in certificate.files.all())}
        for name in filter(None, names):
            certificate.pdf.storage.delete(name)


@dataclass(frozen=True)
class RetentionRun:
    due: int
    anonymised: int


def apply_retention(
    *,
    now: datetime.datetime | None = None,
    years: int | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> RetentionRun:
    """Anonymise everyone due (or, with dry_run, only count them)."""
    due = list(retention_due(now=now, years=years).values_list("pk", "last_ended"))
    if dry_run:
        return RetentionRun(due=len(due), anonymised=0)
    done = 0
    for done, (pk, last_ended) in enumerate(due, start=1):
        participant_anonymise(participant=Participant(pk=pk), last_ended=last_ended)
        if progress is not None:
            progress(done, len(due))
    return RetentionRun(due=len(due), anonymised=done)
