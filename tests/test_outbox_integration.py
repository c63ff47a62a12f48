"""The outbox through a real worker process on the real Redis, to a real SMTP server: a
worker killed while each kind of message is on the wire, and an address the server refuses
for good. Every message arrives, at most once more than it should per kill, and a refused
one is marked failed with the server's answer after a bounded number of tries.

The kills are aimed: the SMTP sink holds every message at the end of DATA (neither
accepted nor refused), the test kills the whole worker, then the sink refuses what it held
(to a dead connection). The message was on the wire, and the outbox must send it again,
once, after the dead sender's lease runs out, with no help but the beat's sweep.
(The unaimed kills at random moments, with a mail server outage: test_outbox_faults.py.)
"""

import datetime

import pytest
from django.db import transaction

from accounts.invitations import invite_participants, request_password_reset
from certificates.models import AttendanceAlert
from cohorts.models import Notification, Participant
from messaging.alerts import alerts_put, digests_send
from messaging.outbox import PERMANENT_TRIES
from tests import test_worker_integration as worker_integration
from tests.factories import (
    CohortFactory,
    EnrolmentFactory,
    ParticipantFactory,
    SessionFactory,
    manager,
    region,
)
from tests.worker_fixtures import wait_for

broker = worker_integration.broker
queue = worker_integration.queue
smtp = worker_integration.smtp
start_worker = worker_integration.start_worker

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TIMEOUT = 60
PAST = datetime.datetime(2019, 3, 4, 9, tzinfo=datetime.UTC)


def _cohort_with_a_manager():
    """A cohort in MA-04 with one ended session nobody recorded, one trainee, a manager."""
    with transaction.atomic():
        cohort = CohortFactory(year=2019, regions=[region("MA-04")])
        SessionFactory(cohort=cohort, starts_at=PAST)
        enrolment = EnrolmentFactory(cohort=cohort)
        rsk = manager("manager-rsk", regions=["MA-04"])
    return cohort, enrolment, rsk


def _put_alert():
    _cohort, enrolment, rsk = _cohort_with_a_manager()
    with transaction.atomic():
        alert = AttendanceAlert.objects.create(
            enrolment=enrolment, kind="below", rate_numerator=1, rate_denominator=4, raised_at=PAST
        )
        alerts_put([alert])
    return {enrolment.participant.email, rsk.email}


def _put_digest():
    _cohort, _enrolment, rsk = _cohort_with_a_manager()
    assert digests_send() == 1
    return {rsk.email}


def _put_invitation():
    person = ParticipantFactory()
    rsk = manager("manager-rsk", regions=["MA-04"])
    with transaction.atomic():
        assert invite_participants(Participant.objects.filter(pk=person.pk), by=rsk).invited == 1
    return {person.email}


def _put_password_reset():
    rsk = manager("manager-rsk", regions=["MA-04"])
    with transaction.atomic():
        assert request_password_reset(rsk, language="fr") is not None
    return {rsk.email}


KINDS = {
    "alert": _put_alert,
    "digest": _put_digest,
    "invitation": _put_invitation,
    "reset": _put_password_reset,
}


# Alerts and digests here; invitations and resets (the same path, about 10 s each) in
# make test-slow.
@pytest.mark.parametrize(
    "kind",
    [
        k if k in ("alert", "digest") else pytest.param(k, marks=pytest.mark.slow)
        for k in sorted(KINDS)
    ],
)
def test_a_worker_killed_with_a_message_on_the_wire_sends_it_again_once(
    kind, start_worker, smtp, broker
):
    smtp.hold()
    first = start_worker()
    recipients = KINDS[kind]()  # put in the outbox; a sender is woken on commit
    wait_for(lambda: smtp.held, timeout=TIMEOUT, what=lambda: first.log_tail())
    first.kill()
    smtp.release()
    assert smtp.deliveries == []
    on_the_wire = Notification.objects.filter(status="sending")
    assert on_the_wire.count() >= 1  # left claimed by the dead sender

    second = start_worker()
    wait_for(
        lambda: set(smtp.recipients()) == recipients,
        timeout=TIMEOUT,
        what=lambda: f"{sorted(recipients)}, got {smtp.recipients()}:\n" + second.log_tail(),
    )
    second.wait_idle(broker, timeout=TIMEOUT)
    # Each recipient once: the kill cost no duplicate here (the server had not accepted).
    assert sorted(smtp.recipients()) == sorted(recipients)
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    assert max(Notification.objects.values_list("attempts", flat=True)) == 2


def test_an_address_refused_for_good_is_marked_failed_after_bounded_tries(
    start_worker, smtp, broker
):
    person = ParticipantFactory(email="nobody@invalid.example")
    other = ParticipantFactory()
    rsk = manager("manager-rsk", regions=["MA-04"])
    smtp.refuse.add(person.email)
    worker = start_worker()
    with transaction.atomic():
        invite_participants(Participant.objects.filter(pk__in=[person.pk, other.pk]), by=rsk)
    refused = Notification.objects.filter(participant=person)
    wait_for(
        lambda: refused.filter(status="failed").exists(),
        timeout=TIMEOUT,
        what=lambda: f"the refused invitation to be marked failed:\n{worker.log_tail()}",
    )
    row = refused.get()
    assert row.attempts == PERMANENT_TRIES
    assert row.last_error.startswith(f"{person.email}: 550 5.1.1")
    assert smtp.refused == {person.email: PERMANENT_TRIES}
    # The other invitation went, once; the failed one is not tried again by later sweeps.
    assert smtp.recipients() == [other.email]
    sweeps = len(worker.results("messaging.tasks.sweep_outbox"))
    wait_for(
        lambda: len(worker.results("messaging.tasks.sweep_outbox")) >= sweeps + 3,
        timeout=TIMEOUT,
        what="three more sweeps",
    )
    assert smtp.refused == {person.email: PERMANENT_TRIES}
    assert '"failed": 1' in worker.results("messaging.tasks.sweep_outbox")[-1].replace("'", '"')
