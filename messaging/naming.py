"""Greeting a person by name only if they agreed to it.

The choice is recorded in `accounts` (NamingConsent), a room beside this one: it is read
here through the participant's relation to it, with no import. A message written with a
`%(name)s` is given `GAP` instead of the name, then `tidy` removes the gap and the space
before it ("Bonjour GAP," -> "Bonjour,", "مرحبا GAP،" -> "مرحبا،").
"""

import re

from cohorts.models import Participant

GAP = "\x00"
_GAP = re.compile("[ \t\u00a0]*\x00")


def email_name(participant: Participant) -> str:
    """Their name, or GAP when they asked not to be named in e-mails."""
    latest = participant.naming_consents.values_list("in_emails", flat=True).first()
    return GAP if latest is False else participant.full_name


def tidy(text: str) -> str:
    return _GAP.sub("", text)
