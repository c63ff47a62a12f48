"""Session reminders, change and cancellation notices: due when they should be, sent once,
in the participant's language, with a valid iCalendar invitation (time frozen)."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from icalendar import Calendar

from cohorts import services
from cohorts.models import Notification
from messaging.notices import notices_due, notices_put
from messaging.outbox import GROUP, deliver
from tests.factories import CohortFactory, EnrolmentFactory, ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db
CASABLANCA = ZoneInfo("Africa/Casablanca")
START = datetime.datetime(2019, 10, 21, 9, 0, tzinfo=CASABLANCA)


@pytest.fixture
def cohort():
    return CohortFactory(year=2019)


def _people(cohort, languages=("fr", "ar", "en")):
    return [
        EnrolmentFactory(cohort=cohort, participant=ParticipantFactory(preferred_language=lang))
        for lang in languages
    ]


def _at(moment):
    return time_machine.travel(moment, tick=False)


def _send_due(now):
    """What the sweep and the outbox's sender do at `now`: put what is due, send it."""
    with _at(now):
        due = notices_due()
        notices_put(due.notices)
        return due, deliver()


def test_nothing_is_due_before_the_first_reminder_window(cohort):
    SessionFactory(cohort=cohort, starts_at=START)
    _people(cohort)
    with _at(START - datetime.timedelta(days=7, minutes=1)):
        assert notices_due().notices == []


def test_a_week_before_each_active_participant_with_an_email_is_reminded_once(cohort):
    session = SessionFactory(cohort=cohort, starts_at=START, venue="Hôtel de Région", city="Rabat")
    people = _people(cohort)
    withdrawn = EnrolmentFactory(cohort=cohort)
    services.enrolment_withdraw(enrolment=withdrawn, withdrawn_on=datetime.date(2019, 9, 1))
    EnrolmentFactory(cohort=cohort, participant=ParticipantFactory(email=None))
    due, result = _send_due(START - datetime.timedelta(days=7))
    assert {(n.kind, n.participant_id) for n in due.notices} == {
        ("reminder", e.participant_id) for e in people
    }
    assert due.skipped == {"withdrawn": 1, "no_email": 1}
    assert (result.sent, result.retrying, result.failed, result.dropped) == (3, 0, 0, 0)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(e.participant.email for e in people)
    # Run again, or put the same notices again: nothing more goes out.
    again, repeat = _send_due(START - datetime.timedelta(days=7) + datetime.timedelta(minutes=5))
    assert again.notices == [] and repeat.sent == 0
    assert notices_put(due.notices) == 0
    assert deliver().sent == 0
    assert len(mail.outbox) == 3
    assert Notification.objects.filter(session=session, status="sent").count() == 3


def test_the_reminder_speaks_the_participants_language_with_an_ics(cohort):
    session = SessionFactory(cohort=cohort, starts_at=START, title="Finances régionales")
    _people(cohort, languages=("ar",))
    _send_due(START - datetime.timedelta(days=1))
    (message,) = mail.outbox
    assert "تذكير" in message.subject
    html = message.alternatives[0][0]
    assert 'dir="rtl"' in html and 'lang="ar"' in html
    assert "09:00" in message.body
    name, content, mimetype = message.attachments[0]
    assert name == "session.ics" and "method=REQUEST" in mimetype
    event = Calendar.from_ical(content).walk("VEVENT")[0]
    assert event.decoded("dtstart") == session.starts_at
    assert event.decoded("dtend") == session.ends_at
    assert str(event["uid"]) == f"session-{session.pk}@region2021"


def test_a_day_before_the_second_reminder_goes_out(cohort):
    SessionFactory(cohort=cohort, starts_at=START)
    _people(cohort, languages=("fr",))
    _send_due(START - datetime.timedelta(days=7))
    due, result = _send_due(START - datetime.timedelta(hours=23))
    assert [n.key.split(":")[3] for n in due.notices] == ["24h"]
    assert result.sent == 1 and len(mail.outbox) == 2


def test_a_participant_withdrawn_between_reminders_gets_no_second_one(cohort):
    SessionFactory(cohort=cohort, starts_at=START)
    (enrolment,) = _people(cohort, languages=("fr",))
    _send_due(START - datetime.timedelta(days=7))
    services.enrolment_withdraw(enrolment=enrolment, withdrawn_on=datetime.date(2019, 10, 16))
    due, _result = _send_due(START - datetime.timedelta(hours=20))
    assert due.notices == [] and due.skipped == {"withdrawn": 1}
    assert len(mail.outbox) == 1


def test_a_session_moved_after_the_first_reminder_gets_a_change_notice_then_new_reminders(
    cohort, django_capture_on_commit_callbacks
):
    session = SessionFactory(cohort=cohort, starts_at=START)
    _people(cohort, languages=("fr",))
    _send_due(START - datetime.timedelta(days=7))
    later = START + datetime.timedelta(days=14)
    with _at(START - datetime.timedelta(days=6)), django_capture_on_commit_callbacks(execute=True):
        services.session_update(
            session=session, starts_at=later, ends_at=later + datetime.timedelta(hours=7)
        )
    assert [m.subject.split(" ")[0] for m in mail.outbox] == ["Rappel", "Modifiée"]
    assert "4 novembre" in mail.outbox[1].subject
    assert Notification.objects.filter(kind="changed").count() == 1
    due, _result = _send_due(later - datetime.timedelta(days=7))
    assert [n.kind for n in due.notices] == ["reminder"]  # for the new date, once
    assert _send_due(later - datetime.timedelta(days=7, minutes=-5))[0].notices == []


def test_a_cancelled_session_tells_those_who_were_reminded(
    cohort, django_capture_on_commit_callbacks
):
    session = SessionFactory(cohort=cohort, starts_at=START)
    _people(cohort, languages=("fr", "en"))
    _send_due(START - datetime.timedelta(days=7))
    with _at(START - datetime.timedelta(days=2)), django_capture_on_commit_callbacks(execute=True):
        services.session_cancel(session=session)
    cancellations = [m for m in mail.outbox if "method=CANCEL" in m.attachments[0][2]]
    assert len(cancellations) == 2
    event = Calendar.from_ical(cancellations[0].attachments[0][1]).walk("VEVENT")[0]
    assert str(event["status"]) == "CANCELLED"
    assert _send_due(START - datetime.timedelta(hours=20))[0].notices == []  # no reminder


def test_local_times_are_right_across_a_ramadan_clock_change(cohort):
    # Morocco drops to UTC+0 during Ramadan: 5 May to 9 June 2019.
    start = datetime.datetime(2019, 5, 13, 9, 30, tzinfo=CASABLANCA)
    SessionFactory(cohort=cohort, starts_at=start)
    _people(cohort, languages=("fr",))
    assert start.utcoffset() == datetime.timedelta(0)
    # The week-before reminder falls before the change (UTC+1): 168 hours, not 7 calendar days.
    _send_due(start - datetime.timedelta(hours=168))
    (message,) = mail.outbox
    assert "09:30" in message.body


def test_a_session_across_midnight_keeps_its_end_on_the_next_day(cohort):
    start = datetime.datetime(2019, 10, 21, 22, 0, tzinfo=CASABLANCA)
    session = SessionFactory(
        cohort=cohort, starts_at=start, ends_at=start + datetime.timedelta(hours=3)
    )
    _people(cohort, languages=("fr",))
    _send_due(start - datetime.timedelta(days=1))
    (message,) = mail.outbox
    assert "22:00–01:00" in message.body
    event = Calendar.from_ical(message.attachments[0][1]).walk("VEVENT")[0]
    assert event.decoded("dtend") == session.ends_at


def test_a_mail_server_that_is_down_delays_the_notices_then_they_go_once(cohort, settings):
    SessionFactory(cohort=cohort, starts_at=START)
    _people(cohort, languages=("fr",))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    _due, result = _send_due(START - datetime.timedelta(days=7))
    assert (result.sent, result.retrying) == (0, 1)
    (row,) = Notification.objects.all()
    assert row.status == "pending" and row.attempts == 1 and "Connection refused" in row.last_error
    # Not again before its backoff (30 s), whoever asks.
    with _at(START - datetime.timedelta(days=7) + datetime.timedelta(seconds=10)):
        assert deliver().sent == 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _due, result = _send_due(START - datetime.timedelta(days=7) + datetime.timedelta(minutes=10))
    assert result.sent == 1 and len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.status == "sent" and row.address == mail.outbox[0].to[0]


@pytest.mark.parametrize("size", [3, 120])
def test_sending_costs_one_statement_per_message_and_a_constant_overhead(cohort, size):
    """Each message is recorded as sent in its own statement, right after the server took
    it (what bounds a crash's duplicates to one); the rest does not grow with the batch."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    SessionFactory(cohort=cohort, starts_at=START)
    _people(cohort, languages=("fr",) * size)
    with _at(START - datetime.timedelta(days=7)):
        notices_put(notices_due().notices)
        with CaptureQueriesContext(connection) as queries:
            assert deliver().sent == size
    # (Savepoints, and on PostgreSQL the sender's connection setting and its reset, aside.)
    statements = [
        q["sql"]
        for q in queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "SET", "RESET"))
    ]
    groups = -(-size // GROUP)
    # Per group (GROUP rows): pick due rows, claim them, read them back, the enrolments,
    # who asked not to be named; per message: one update; and the last look that finds
    # nothing due.
    assert len(statements) == 5 * groups + size + 1, [q[:60] for q in statements]
    assert len(mail.outbox) == size
