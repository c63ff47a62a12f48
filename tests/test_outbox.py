"""The outbox without a worker: leases, retries and failures per message, priorities,
messages no longer needed, and what managers see of the failures (time frozen; a channel
that answers as a mail server would, refusing some addresses)."""

import contextlib
import datetime
import smtplib

import pytest
import time_machine
from django.urls import reverse

from cohorts import services
from cohorts.models import Notification
from messaging import outbox
from messaging.alerts import digests_send
from messaging.notices import notices_due, notices_put
from messaging.outbox import PERMANENT_TRIES, TRANSIENT_TRIES, deliver, due
from messaging.tasks import sweep_outbox
from tests.factories import (
    CohortFactory,
    EnrolmentFactory,
    SessionFactory,
    UserFactory,
    manager,
    region,
)

pytestmark = pytest.mark.django_db
START = datetime.datetime(2019, 10, 21, 9, 0, tzinfo=datetime.UTC)
NOW = START - datetime.timedelta(days=1)


class Server:
    """A channel answering like an SMTP server: `answers` maps an address to the error it
    raises (a 550 refusal, a 451 try-later); everything else is accepted and kept."""

    name = "email"

    def __init__(self, answers: dict[str, Exception] | None = None) -> None:
        self.answers = answers or {}
        self.accepted: list[str] = []
        self.tried: list[str] = []

    @contextlib.contextmanager
    def open(self):
        yield self

    def send(self, message) -> None:
        self.tried.append(message.to)
        if message.to in self.answers:
            raise self.answers[message.to]
        self.accepted.append(message.to)


def refused(address: str, code: int = 550, text: bytes = b"5.1.1 User unknown"):
    return smtplib.SMTPRecipientsRefused({address: (code, text)})


@pytest.fixture
def reminders():
    """Three people due a reminder at NOW, in the outbox."""
    cohort = CohortFactory(year=2019, regions=[region("MA-04")])
    session = SessionFactory(cohort=cohort, starts_at=START)
    people = [EnrolmentFactory(cohort=cohort).participant for _ in range(3)]
    with time_machine.travel(NOW, tick=False):
        assert notices_put(notices_due().notices) == 3
    return session, people


def _at(moment):
    return time_machine.travel(moment, tick=False)


def test_a_permanent_refusal_is_tried_a_bounded_number_of_times_then_marked_failed(reminders):
    _session, (amina, karim, salma) = reminders
    server = Server({amina.email: refused(amina.email)})
    moment = NOW
    for attempt in range(1, PERMANENT_TRIES + 1):
        with _at(moment):
            result = deliver(channel=server)
        row = Notification.objects.get(participant=amina)
        assert row.attempts == attempt
        if attempt < PERMANENT_TRIES:
            assert (result.retrying, row.status) == (1, "pending")
            assert row.next_attempt_at == moment + outbox.backoff(attempt)
            moment = row.next_attempt_at
        else:
            assert (result.failed, row.status) == (1, "failed")
    assert row.last_error == f"{amina.email}: 550 5.1.1 User unknown"
    assert row.address == amina.email
    assert sorted(server.accepted) == sorted([karim.email, salma.email])  # the others went
    # Never again: a failed row is not due, whoever sweeps.
    with _at(moment + datetime.timedelta(days=1)):
        assert not due().exists()
        assert deliver(channel=server).failed == 0
    assert server.tried.count(amina.email) == PERMANENT_TRIES


def test_a_transient_refusal_backs_off_and_goes_once_the_server_takes_it(reminders):
    _session, (amina, *_others) = reminders
    server = Server({amina.email: refused(amina.email, 451, b"4.7.1 Try again later")})
    with _at(NOW):
        assert deliver(channel=server).retrying == 1
    row = Notification.objects.get(participant=amina)
    assert (row.status, row.attempts) == ("pending", 1)
    with _at(NOW + datetime.timedelta(seconds=10)):  # before its backoff: not due
        assert deliver(channel=server).sent == 0
    del server.answers[amina.email]
    with _at(NOW + datetime.timedelta(minutes=1)):
        assert deliver(channel=server).sent == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at) == (
        "sent",
        2,
        NOW + datetime.timedelta(minutes=1),
    )
    assert TRANSIENT_TRIES > PERMANENT_TRIES


def test_a_dead_senders_rows_are_due_again_only_once_its_lease_has_run_out(reminders):
    with _at(NOW):
        Notification.objects.update(
            status="sending", claim="dead", lease_until=NOW + outbox.lease()
        )
        assert not due().exists()
    with _at(NOW + outbox.lease() + datetime.timedelta(seconds=1)):
        assert due().count() == 3
        server = Server()
        assert deliver(channel=server).sent == 3
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_a_sender_records_each_message_as_soon_as_the_server_took_it(reminders):
    """Killed after the second message, a sender has recorded the first two: only the one
    on the wire could go twice."""
    _session, people = reminders

    class Dies(Server):
        def send(self, message) -> None:
            if len(self.accepted) == 2:
                raise KeyboardInterrupt  # the process dies mid-send (as SIGKILL would)
            super().send(message)

    with _at(NOW), pytest.raises(KeyboardInterrupt):
        deliver(channel=Dies())
    statuses = list(Notification.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["sent", "sent", "sending"]


def test_someone_waiting_for_a_password_reset_goes_before_a_batch_of_reminders(reminders):
    from accounts.invitations import request_password_reset

    person = UserFactory(email="waiting@example.org")
    with _at(NOW):
        request_password_reset(person, language="fr")
        server = Server()
        deliver(channel=server)
    assert server.accepted[0] == "waiting@example.org"


def test_a_reminder_for_a_session_moved_or_a_person_withdrawn_since_is_dropped(reminders):
    session, (amina, *_others) = reminders
    enrolment = amina.enrolments.get()
    services.enrolment_withdraw(enrolment=enrolment, withdrawn_on=datetime.date(2019, 10, 1))
    later = START + datetime.timedelta(days=7)
    session.starts_at, session.ends_at = later, later + datetime.timedelta(hours=7)
    session.save()
    with _at(NOW):
        result = deliver(channel=Server())
    assert (result.sent, result.dropped) == (0, 3)
    reasons = set(Notification.objects.values_list("last_error", flat=True))
    assert reasons == {"withdrawn from the cohort", "the session moved since"}


def test_the_outbox_sweep_costs_two_queries_and_wakes_a_sender_only_when_something_is_due(
    reminders, django_assert_num_queries, monkeypatch
):
    woken = []
    monkeypatch.setattr("messaging.tasks.enqueue_now", woken.append)
    with _at(NOW), django_assert_num_queries(2):  # what is due, and the failed count
        assert sweep_outbox.apply().get() == {"due": 3, "failed": 0}
    assert woken == ["messaging.tasks.deliver"]
    with _at(NOW):
        deliver(channel=Server())
        assert sweep_outbox.apply().get() == {"due": 0, "failed": 0}
    assert woken == ["messaging.tasks.deliver"]  # nothing due: no sender woken


# What managers see ----------------------------------------------------------------------


@pytest.fixture
def failed(reminders):
    _session, (amina, *_others) = reminders
    server = Server({amina.email: refused(amina.email)})
    moment = NOW
    for _ in range(PERMANENT_TRIES):
        with _at(moment):
            deliver(channel=server)
        moment += datetime.timedelta(hours=1)
    row = Notification.objects.get(participant=amina)
    assert row.status == "failed"
    return row


def test_the_manager_sees_the_failed_message_on_the_home_page_and_the_progress_page(client, failed):
    client.force_login(manager("rsk", regions=["MA-04"]))
    home = client.get(reverse("web:manager-home")).content.decode()
    assert 'id="failed-messages"' in home
    assert failed.address in home and "550 5.1.1 User unknown" in home
    cohort = failed.session.cohort
    progress = client.get(reverse("web:cohort-progress", args=[cohort.pk])).content.decode()
    assert progress.count('data-col="message-failed"') == 1
    # Another region's manager sees nothing of it.
    client.force_login(manager("oujda", regions=["MA-02"]))
    assert 'id="failed-messages"' not in client.get(reverse("web:manager-home")).content.decode()


def test_the_weekly_digest_lists_the_failed_messages(failed):
    rsk = manager("rsk", regions=["MA-04"])
    with _at(NOW + datetime.timedelta(days=1)):
        assert digests_send() == 1
        (digest,) = Notification.objects.filter(kind="digest")
        text = outbox._compose([digest])[digest.pk].text
        assert deliver(channel=(server := Server())).sent == 1
    assert server.accepted == [rsk.email]
    assert failed.address in text and "550 5.1.1" in text


def test_the_admin_sends_a_failed_message_again_to_the_corrected_address(admin_client, failed):
    amina = failed.participant
    amina.email = "amina.corrected@example.org"
    amina.save()
    changelist = reverse("admin:cohorts_notification_changelist")
    assert failed.address in admin_client.get(changelist).content.decode()
    # The person's page lists their messages, the failed one with the server's answer.
    person_page = reverse("admin:cohorts_participant_change", args=[amina.pk])
    assert "550 5.1.1 User unknown" in admin_client.get(person_page).content.decode()
    response = admin_client.post(
        changelist, {"action": "send_again", "_selected_action": [failed.pk]}, follow=True
    )
    assert response.status_code == 200
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("pending", 0)
    server = Server()
    deliver(channel=server)
    assert server.accepted == ["amina.corrected@example.org"]
