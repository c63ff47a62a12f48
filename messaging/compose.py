"""What a session notice says, in the participant's language, with an iCalendar invitation."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from cohorts.models import Notification, Participant, TrainingSession
from messaging.channels import OutgoingMessage
from messaging.naming import email_name, tidy


def session_ics(session: TrainingSession, *, cancelled: bool = False) -> bytes:
    """An invitation for calendar programs; the same UID across changes, a new SEQUENCE."""
    calendar = Calendar()
    calendar.add("prodid", "-//Cycle Region 2021//tracker//FR")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", f"session-{session.pk}@region2021")
    event.add("summary", f"{session.display_title} — {session.cohort.display_title}")
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("dtstamp", timezone.now())
    # A later start means a later version of the event for calendar programs.
    event.add("sequence", int(session.starts_at.timestamp()) // 60 % 2**31)
    place = ", ".join(part for part in (session.venue, session.city) if part)
    if place:
        event.add("location", place)
    if session.online_url:
        event.add("url", session.online_url)
    if cancelled:
        event.add("status", "CANCELLED")
    calendar.add_component(event)
    return calendar.to_ical()


def session_notice(
    kind: str,
    participant: Participant,
    session: TrainingSession,
    unnamed: set[int] | None = None,
) -> OutgoingMessage:
    language = participant.preferred_language or settings.LANGUAGE_CODE
    with translation.override(language):
        start = timezone.localtime(session.starts_at)
        end = timezone.localtime(session.ends_at)
        when = _("%(day)s, %(start)s–%(end)s") % {
            "day": formats.date_format(start, "l j F Y"),
            "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"),
        }
        # Keyed by the kinds, read with the stored value (a plain str equal to its kind).
        subjects: dict[str, str] = {
            Notification.Kind.REMINDER: _("Reminder: %(title)s on %(day)s"),
            Notification.Kind.CHANGED: _("Changed: %(title)s now on %(day)s"),
            Notification.Kind.CANCELLED: _("Cancelled: %(title)s"),
        }
        subject = subjects[kind] % {
            "title": session.display_title,
            "day": formats.date_format(start, "j F"),
        }
        context = {
            "kind": kind,
            "participant": participant,
            "name": email_name(participant, unnamed),
            "session": session,
            "when": when,
            "place": ", ".join(p for p in (session.venue, session.city) if p),
            "rtl": translation.get_language_bidi(),
            "language": language,
        }
        text = tidy(render_to_string("messaging/email/session_notice.txt", context))
        html = tidy(render_to_string("messaging/email/session_notice.html", context))
    cancelled = kind == Notification.Kind.CANCELLED
    method = "CANCEL" if cancelled else "REQUEST"
    invitation = session_ics(session, cancelled=cancelled)
    return OutgoingMessage(
        # An address removed since the notice fell due: "" is no recipient either, so the
        # message is not sent (EmailMessage.send skips falsy addresses) and not recorded.
        to=participant.email or "",
        subject=subject,
        text=text,
        html=html,
        attachments=[("session.ics", invitation, f"text/calendar; charset=utf-8; method={method}")],
    )
