"""Session reminders through a real Celery worker process on the real Redis, to a real SMTP
server (aiosmtpd). A batch may run twice, be lost with Redis' data, meet a mail server that
is down, or die with its worker: every reminder still arrives exactly once.

The programme's sessions are in 2018–2021, and a worker process cannot be time-frozen, so
the test derives what is due at a frozen moment (`notices_due(now=NOW)`) and queues it as
the beat's `sweep_notices` does; the worker only sends, which does not depend on the date.
"""

import ast
import asyncio
import datetime
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone
from icalendar import Calendar

from cohorts.models import Notification
from messaging.notices import notices_due
from messaging.tasks import NOTICE_BATCH, send_notices
from tests import test_worker_integration as worker_integration
from tests.factories import CohortFactory, EnrolmentFactory, ParticipantFactory, SessionFactory
from tests.worker_fixtures import SmtpSink, queue_length, wait_for

# The certificates' worker fixtures, found by name: a Redis client (skipping without Redis),
# a queue of the test's own, and a worker on the test database sending to `smtp` (below).
broker = worker_integration.broker
queue = worker_integration.queue
start_worker = worker_integration.start_worker
QUICK_REDELIVERY = worker_integration.QUICK_REDELIVERY

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
SEND = "messaging.tasks.send_notices"
SENDING, SENT = Notification.Status.SENDING, Notification.Status.SENT
CLAIM_TIMEOUT = 5  # seconds, for NOTICE_CLAIM_TIMEOUT
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


def _queue(notices) -> int:
    """Queue `notices` in batches, as `sweep_notices` does; return how many tasks."""
    payload = [[n.kind, n.session_id, n.participant_id, n.key] for n in notices]
    for start in range(0, len(payload), NOTICE_BATCH):
        send_notices.delay(payload[start : start + NOTICE_BATCH])
    return -(-len(payload) // NOTICE_BATCH)


def _sweep(now: datetime.datetime) -> int:
    """What the beat's `sweep_notices` does, at `now`: queue what is due; return how many."""
    due = notices_due(now=now)
    _queue(due.notices)
    return len(due.notices)


def _results(worker) -> list[dict]:
    return [ast.literal_eval(result) for result in worker.results(SEND)]


def _totals(results: list[dict]) -> dict:
    return {key: sum(r[key] for r in results) for key in ("sent", "already", "failed")}


def _delivered(smtp, count: int):
    def check() -> bool:
        return len(smtp.deliveries) >= count

    return check


def _accepted_but_unrecorded(smtp) -> bool:
    return Notification.objects.filter(
        participant__email__in=smtp.recipients(), status=SENDING
    ).exists()


def _assert_each_reminded_once(session, people, smtp):
    assert smtp.recipients() == sorted(p.email for p in people)
    assert sorted(
        Notification.objects.values_list("session_id", "participant_id", "kind", "status")
    ) == sorted((session.pk, p.pk, "reminder", "sent") for p in people)
    assert notices_due(now=NOW).notices == []


# Tests ---------------------------------------------------------------------------------


def test_a_batch_queued_twice_reminds_each_person_once_in_their_language_with_an_ics(
    start_worker, smtp, broker
):
    session, people = _session_with_people(6)
    due = notices_due(now=NOW)
    assert len(due.notices) == 6
    _queue(due.notices)
    _queue(due.notices)  # a duplicate task
    # Queued before the worker starts: its two processes take one copy each, at once.
    worker = start_worker()
    wait_for(
        lambda: len(worker.results(SEND)) == 2,
        timeout=TIMEOUT,
        what=lambda: "both copies of the batch to run:\n" + worker.log_tail(),
    )
    worker.wait_idle(broker, timeout=TIMEOUT)

    assert _totals(_results(worker)) == {"sent": 6, "already": 6, "failed": 0}
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


def test_after_redis_loses_the_queued_batches_the_sweep_reminds_each_person_once(
    start_worker, smtp, broker, queue
):
    session, people = _session_with_people(12)
    due = notices_due(now=NOW)
    _queue(due.notices)
    _queue(due.notices)
    assert queue_length(broker, queue) == 2
    # Redis restarted without persistence before any worker ran. FLUSHDB, not FLUSHALL: the
    # test's own database (the suite clears it around every test already, as the cache's);
    # FLUSHALL would empty every other database on a shared server too.
    broker.flushdb()
    assert queue_length(broker, queue) == 0

    worker = start_worker()
    worker.wait_idle(broker, timeout=TIMEOUT)
    assert worker.events() == [] and smtp.deliveries == []
    assert not Notification.objects.exists()

    # The database still knows what is due: the sweep queues it again.
    assert _sweep(NOW) == 12
    wait_for(_delivered(smtp, 12), timeout=TIMEOUT, what=lambda: worker.log_tail())
    worker.wait_idle(broker, timeout=TIMEOUT)
    assert _results(worker) == [{"sent": 12, "already": 0, "failed": 0}]
    _assert_each_reminded_once(session, people, smtp)


def test_a_batch_refused_by_a_mail_server_that_is_down_is_retried_then_delivered_once(
    start_worker, smtp, broker
):
    session, people = _session_with_people(6)
    smtp.stop()  # nothing listens on the worker's EMAIL_PORT for now
    worker = start_worker()
    assert _sweep(NOW) == 6
    wait_for(
        lambda: any(e.name == SEND and e.event == "retry" for e in worker.events()),
        timeout=TIMEOUT,
        what=lambda: "the batch to be retried:\n" + worker.log_tail(),
    )
    # A refused batch released its claims: nothing is recorded as sent, nothing is stuck.
    assert not Notification.objects.filter(status=SENT).exists()

    smtp.start()  # the mail server is back, on the same port
    wait_for(_delivered(smtp, 6), timeout=TIMEOUT, what=lambda: worker.log_tail())
    worker.wait_idle(broker, timeout=TIMEOUT)
    assert _results(worker) == [{"sent": 6, "already": 0, "failed": 0}]
    _assert_each_reminded_once(session, people, smtp)


def test_a_worker_killed_mid_batch_loses_no_reminder_and_doubles_none(
    start_worker, smtp, broker, settings
):
    """The worker dies with a batch claimed and its connection open; another worker gets
    the batch's message back, and the sweep re-derives what is still due.

    The kill is aimed at the start of a batch: its first message is at the SMTP server,
    neither accepted nor refused, and every message accepted before was recorded as sent.
    A batch records its messages as sent when it ends, so a kill later in a batch would
    send again those of its messages the server had accepted; no sender over SMTP can rule
    out the last one, and this one does not try to for the others (see the report).
    """
    # Claims are given up on after NOTICE_CLAIM_TIMEOUT (15 minutes by default, more than a
    # task may run); here after a few seconds, once the killed worker is surely gone.
    settings.NOTICE_CLAIM_TIMEOUT = CLAIM_TIMEOUT
    session, people = _session_with_people(300)
    smtp.delay = 0.005  # slow enough that the kill lands while batches are in progress
    assert _sweep(NOW) == 300  # three batches of 100
    first = start_worker()
    wait_for(_delivered(smtp, 30), timeout=TIMEOUT, what=lambda: first.log_tail())
    smtp.hold_batches()
    wait_for(
        lambda: smtp.held and not _accepted_but_unrecorded(smtp),
        timeout=TIMEOUT,
        what=lambda: "a batch to start while every accepted message is recorded",
    )
    first.kill()
    smtp.release()
    # Read after the kill: a task logs its success before it is acknowledged, so these were
    # not, and will come back.
    lost = first.in_flight()
    stuck = Notification.objects.filter(status=SENDING).count()
    assert stuck >= 100 and stuck % 100 == 0  # the killed batches' claims, left behind
    assert smtp.recipients() == sorted(
        Notification.objects.filter(status=SENT).values_list("participant__email", flat=True)
    )

    # Acknowledged late, the killed batches' messages come back to a new worker; their
    # notices are still claimed by the dead one, so they send nothing more.
    smtp.delay = 0
    second = start_worker(QUICK_REDELIVERY)
    wait_for(
        lambda: lost <= {e.id for e in second.events() if e.event != "received"},
        timeout=TIMEOUT,
        what=lambda: "the killed worker's batches to come back:\n" + second.log_tail(),
    )
    came_back = [ast.literal_eval(e.result) for e in second.events() if e.id in lost and e.result]
    assert _totals(came_back)["already"] == stuck
    # The sweep gives up the dead worker's claims and queues those notices again.
    wait_for(
        lambda: (
            not Notification.objects.filter(
                status=SENDING,
                claimed_at__gt=timezone.now() - datetime.timedelta(seconds=CLAIM_TIMEOUT),
            ).exists()
        ),
        timeout=TIMEOUT,
        what="the dead worker's claims to time out",
    )
    stuck = Notification.objects.filter(status=SENDING).count()
    assert _sweep(NOW) == stuck
    wait_for(_delivered(smtp, 300), timeout=TIMEOUT, what=lambda: second.log_tail())
    second.wait_idle(broker, timeout=TIMEOUT)
    assert _totals(_results(first) + _results(second))["sent"] == 300
    _assert_each_reminded_once(session, people, smtp)
