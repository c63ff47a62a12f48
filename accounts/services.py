"""Writes about a person's data rights: identity corrections kept in history, their
choices about being named."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import IDENTITY_FIELDS, Anonymisation, IdentityChange, NamingConsent
from cohorts import services as cohorts_services
from cohorts.models import Participant


def _value(participant: Participant, name: str) -> str | None:
    value = getattr(participant, name)
    return None if value is None else str(value)


@transaction.atomic
def identity_correct(*, participant: Participant, by=None, **fields) -> Participant:
    """Apply a correction (any participant fields) and keep the identity fields that changed
    in history: who, when, before and after. The person's account follows their name and
    e-mail (its user name is the e-mail when it was made from it)."""
    # As stored: a form may already have set the new values on the object it passes.
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    before = {name: _value(participant, name) for name in IDENTITY_FIELDS}
    old_email = participant.email
    participant = cohorts_services.participant_update(participant=participant, **fields)
    after = {name: _value(participant, name) for name in IDENTITY_FIELDS}
    changed = [name for name in IDENTITY_FIELDS if before[name] != after[name]]
    if changed:
        IdentityChange.objects.create(
            participant=participant,
            before={name: before[name] for name in changed},
            after={name: after[name] for name in changed},
            changed_by=by,
            changed_at=timezone.now(),
        )
    user = participant.user
    if user is not None and changed:
        user.first_name = participant.first_name[:150]
        user.last_name = participant.last_name[:150]
        update = ["first_name", "last_name"]
        if "email" in changed:
            if old_email and user.username.lower() == old_email.lower() and participant.email:
                user.username = participant.email
                update.append("username")
            user.email = participant.email or ""
            update.append("email")
        user.save(update_fields=update)
    return participant


@dataclass(frozen=True)
class Naming:
    on_verification: bool
    in_emails: bool
    recorded_at: datetime | None  # None: never chosen (named everywhere, the default)


def naming_consent(participant: Participant) -> Naming:
    """The person's current choice about being named."""
    latest = NamingConsent.objects.filter(participant=participant).first()
    if latest is None:
        return Naming(on_verification=True, in_emails=True, recorded_at=None)
    return Naming(latest.on_verification, latest.in_emails, latest.recorded_at)


@transaction.atomic
def naming_consent_record(
    *, participant: Participant, on_verification: bool, in_emails: bool, by=None
) -> NamingConsent:
    """Record the person's choice, dated; the earlier ones stay as its history."""
    return NamingConsent.objects.create(
        participant=participant,
        on_verification=on_verification,
        in_emails=in_emails,
        recorded_by=by,
        recorded_at=timezone.now(),
    )


def holder_disclosure(participant: Participant) -> str:
    """What public verification may say of the holder: named | withheld | removed."""
    if Anonymisation.objects.filter(participant=participant).exists():
        return "removed"
    return "named" if naming_consent(participant).on_verification else "withheld"
