"""Greeting a person by name only if they agreed to it.

The choice is recorded in `accounts` (NamingConsent), a room beside this one: it is read
here through the participant's relation to it, with no import. A message written with a
`%(name)s` is given `GAP` instead of the name, then `tidy` removes the gap and the space
before it ("Bonjour GAP," -> "Bonjour,", "مرحبا GAP،" -> "مرحبا،").
"""

import re
from collections.abc import Iterable

from cohorts.models import Participant

GAP = "\x00"
_GAP = re.compile("[ \t\u00a0]*\x00")


def unnamed_in_emails(participant_ids: Iterable[int]) -> set[int]:
    """Of these people, those whose latest choice is not to be named in e-mails (one
    query, for a composer's whole group of messages)."""
    latest: dict[int, tuple] = {}
    rows = Participant.objects.filter(
        pk__in=set(participant_ids), naming_consents__isnull=False
    ).values_list(
        "pk", "naming_consents__recorded_at", "naming_consents__id", "naming_consents__in_emails"
    )
    for pk, recorded_at, row_id, in_emails in rows:
        if pk not in latest or (recorded_at, row_id) > latest[pk][:2]:
            latest[pk] = (recorded_at, row_id, in_emails)
    return {pk for pk, (_at, _id, in_emails) in latest.items() if not in_emails}


def email_name(participant: Participant, unnamed: set[int] | None = None) -> str:
    """Their name, or GAP when they asked not to be named in e-mails (`unnamed`: the
    answer of `unnamed_in_emails` for a group, already read)."""
    if unnamed is None:
        unnamed = unnamed_in_emails([participant.pk])
    return GAP if participant.pk in unnamed else participant.full_name


def tidy(text: str) -> str:
    return _GAP.sub("", text)
