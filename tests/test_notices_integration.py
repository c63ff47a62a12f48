"""Session reminders through the outbox, a real Celery worker process on the real Redis,
to a real SMTP server (aiosmtpd). Put twice, their wake-up lost with Redis' data, a mail
server that is down: every reminder still arrives exactly once. (Kills: test_outbox_faults.)

The programme's sessions are in 2018–2021, and a worker process cannot be time-frozen, so
the test derives what is due at a frozen moment (`notices_due(now=NOW)`) and puts it in the
outbox as the beat's `sweep_notices` does; the worker only sends, which does not depend on
the date.
"""

import ast
import asyncio
import datetime
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from icalendar import Calendar

from cohorts.models import Notification
from messaging.notices import notices_due, notices_put
from tests import test_worker_integration as worker_integration
from tests.factories import CohortFactory, EnrolmentFactory, ParticipantFactory, SessionFactory
from tests.worker_fixtures import SmtpSink, queue_length, wait_for

# The certificates' worker fixtures, found by name: a Redis client (skipping without Redis),
# a queue of the test's own, and a worker on the test database sending to `smtp` (below).
broker = worker_integration.broker
queue = worker_integration.queue
start_worker = worker_integration.start_worker

pytestmark = [
    pytest.mark.integration,
    # The worker is another process: it sees committed rows only. Regions and the programme
    # come from data migrations, which a transactional test's flush would otherwise remove.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CASABLANCA = ZoneInfo("Africa/Casablanca")
START = datetime.datetime(2019, 10, 21, 9, 0, tzinfo=CASABLANCA)
NOW = START - datetime.timedelta(days=1)  # the day-before reminder is due
TIMEOUT = 60  # seconds; generous, only ever the limit of a wait
DELIVER = "messaging.tasks.deliver"
SENT = Notification.Status.SENT
SUBJECTS = {"fr": "Rappel : ", "ar": "تذكير: ", "en": "Reminder: "}


class NoticeSink(SmtpSink):
    """The tests' SMTP sink, which can also go down and come back on the same port, answer
    each message a little slowly, and hold the first message of every new connection (where
    a batch starts) while messages on the connections already open go through."""

    def __init__(self) -> None:
        super().__init__()
        self.delay = 0.0  # seconds before each message is answered
        self.running = False
        self._holding_batches = threading.Event()

    def start(self) -> "NoticeSink":
        from aiosmtpd.controller import Controller

        # A stopped controller cannot start again (its event loop is closed): a new one.
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            super().stop()
            self.running = False

    def hold_batches(self) -> None:
        self._holding_batches.set()

    def release(self) -> None:
        self._holding_batches.clear()
        super().release()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        if self.delay:
            await asyncio.sleep(self.delay)
        first = not getattr(session, "seen_a_message", False)
        session.seen_a_message = True
        if first and self._holding_batches.is_set():
            with self._lock:
                self.held += 1
            while self._holding_batches.is_set():
                await asyncio.sleep(0.02)
            return "451 4.3.0 Held by the test; try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture(autouse=True)
def _fresh_cache(broker):
    """The suite's cache clearing (the cache is on the same Redis), once `broker` has skipped
    the test if Redis is unreachable: a skip with the reason, not an error from the cache."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def smtp():
    """The sink the worker of `start_worker` sends to (this overrides that module's `smtp`)."""
    sink = NoticeSink().start()
    yield sink
    sink.stop()


# Helpers -------------------------------------------------------------------------------


def _session_with_people(count: int):
    """A session starting at START and `count` active participants, in fr, ar and en."""
    languages = list(SUBJECTS)
    with transaction.atomic():
        cohort = CohortFactory(year=2019)
        session = SessionFactory(cohort=cohort, starts_at=START, title="Finances régionales")
        people = [
            EnrolmentFactory(
                cohort=cohort,
                participant=ParticipantFactory(preferred_language=languages[i % len(languages)]),
            ).participant
            for i in range(count)
        ]
    return session, people


def _put(notices) -> int:
    """Put `notices` in the outbox, as `sweep_notices` does (a sender is woken on commit)."""
    return notices_put(notices)


def _sweep(now: datetime.datetime) -> int:
    """What the beat's `sweep_notices` does, at `now`: put what is due; return how many."""
    due = notices_due(now=now)
    _put(due.notices)
    return len(due.notices)


def _sent(worker) -> int:
    """Messages the worker's senders reported sent."""
    return sum(ast.literal_eval(result).get("sent", 0) for result in worker.results(DELIVER))


def _delivered(smtp, count: int):
    def check() -> bool:
        return len(smtp.deliveries) >= count

    return check


def _assert_each_reminded_once(session, people, smtp):
    assert smtp.recipients() == sorted(p.email for p in people)
    assert sorted(
        Notification.objects.values_list("session_id", "participant_id", "kind", "status")
    ) == sorted((session.pk, p.pk, "reminder", "sent") for p in people)
    assert notices_due(now=NOW).notices == []


# Tests ---------------------------------------------------------------------------------


def test_notices_put_twice_remind_each_person_once_in_their_language_with_an_ics(
    start_worker, smtp, broker
):
    session, people = _session_with_people(6)
    due = notices_due(now=NOW)
    assert len(due.notices) == 6
    assert _put(due.notices) == 6
    assert _put(due.notices) == 0  # a second sweep, a duplicate task: already there
    worker = start_worker(beat=False)  # the wake-ups queued on commit are enough
    wait_for(_delivered(smtp, 6), timeout=TIMEOUT, what=lambda: worker.log_tail())
    worker.wait_idle(broker, timeout=TIMEOUT)

    assert _sent(worker) == 6
    _assert_each_reminded_once(session, people, smtp)
    by_recipient = {d.recipients[0]: d.message for d in smtp.deliveries}
    for person in people:
        language = person.preferred_language
        message = by_recipient[person.email]
        # A long encoded subject is folded from its first line on ("Subject:" CRLF SP
        # "=?utf-8?b?...?="); Python's parser keeps that folding's space, mail programs don't.
        subject = str(message["subject"]).strip()
        assert subject.startswith(SUBJECTS[language]) and "Finances régionales" in subject
        html = message.get_body(preferencelist=("html",)).get_content()
        direction = "rtl" if language == "ar" else "ltr"
        assert f'lang="{language}" dir="{direction}"' in html
        assert "09:00" in message.get_body(preferencelist=("plain",)).get_content()
        (invitation,) = list(message.iter_attachments())
        assert invitation.get_filename() == "session.ics"
        assert invitation.get_content_type() == "text/calendar"
        assert invitation.get_param("method") == "REQUEST"
        event = Calendar.from_ical(invitation.get_content()).walk("VEVENT")[0]
        assert event.decoded("dtstart") == session.starts_at
        assert event.decoded("dtend") == session.ends_at
        assert str(event["uid"]) == f"session-{session.pk}@region2021"


def test_after_redis_loses_the_wake_ups_the_outbox_sweep_reminds_each_person_once(
    start_worker, smtp, broker, queue
):
    session, people = _session_with_people(12)
    assert _sweep(NOW) == 12
    assert queue_length(broker, queue) >= 1  # the senders' wake-up
    # Redis restarted without persistence before any worker ran. FLUSHDB, not FLUSHALL: the
    # test's own database (the suite clears it around every test already, as the cache's);
    # FLUSHALL would empty every other database on a shared server too.
    broker.flushdb()
    assert queue_length(broker, queue) == 0

    # The database still has the messages: the beat's outbox sweep wakes a sender.
    worker = start_worker()
    wait_for(_delivered(smtp, 12), timeout=TIMEOUT, what=lambda: worker.log_tail())
    worker.wait_idle(broker, timeout=TIMEOUT)
    assert any(
        ast.literal_eval(r)["due"] == 12 for r in worker.results("messaging.tasks.sweep_outbox")
    )
    _assert_each_reminded_once(session, people, smtp)


def test_notices_refused_by_a_mail_server_that_is_down_are_retried_then_delivered_once(
    start_worker, smtp, broker
):
    session, people = _session_with_people(6)
    smtp.stop()  # nothing listens on the worker's EMAIL_PORT for now
    worker = start_worker()
    assert _sweep(NOW) == 6
    wait_for(
        lambda: Notification.objects.filter(attempts__gte=1, status="pending").count() == 6,
        timeout=TIMEOUT,
        what=lambda: "the notices to be tried and put back:\n" + worker.log_tail(),
    )
    (row, *_rest) = Notification.objects.all()
    assert "Connection refused" in row.last_error
    assert not Notification.objects.filter(status=SENT).exists()

    smtp.start()  # the mail server is back, on the same port
    wait_for(_delivered(smtp, 6), timeout=TIMEOUT, what=lambda: worker.log_tail())
    worker.wait_idle(broker, timeout=TIMEOUT)
    _assert_each_reminded_once(session, people, smtp)
