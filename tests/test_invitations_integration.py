"""Account invitations through a real Celery worker process on the real Redis, to a real
SMTP server (aiosmtpd): each invited trainee gets one e-mail, in their language, whose link
opens their account — even when the task runs twice or Redis loses it before any worker.
"""

import datetime
import re

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts.invitations import invite_cohort
from accounts.tasks import send_account_email, sweep_account_emails
from cohorts.models import AccountEmail
from tests import test_worker_integration as worker_integration
from tests.factories import CohortFactory, EnrolmentFactory, ParticipantFactory, manager
from tests.worker_fixtures import queue_length, wait_for

broker = worker_integration.broker
queue = worker_integration.queue
smtp = worker_integration.smtp
start_worker = worker_integration.start_worker

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TIMEOUT = 60
SEND = "accounts.tasks.send_account_email"
SUBJECTS = {
    "fr": "Votre compte pour le cycle d’études Région 2021",
    "ar": "حسابك في الدورة الدراسية جهة 2021",
    "en": "Your account for the Région 2021 study cycle",
}
LINK = re.compile(r"https?://[^/\s]+(/accounts/set-password/[^\s\"<]+/)")


@pytest.fixture(autouse=True)
def _fresh_cache(broker):
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _cohort_to_invite():
    """A cohort of three trainees, one per language, and its MA-04 manager."""
    with transaction.atomic():
        cohort = CohortFactory()
        people = [
            EnrolmentFactory(
                cohort=cohort, participant=ParticipantFactory(preferred_language=language)
            ).participant
            for language in SUBJECTS
        ]
    return cohort, people, manager("manager-rsk", regions=["MA-04"])


def _assert_each_invited_once_in_their_language(people, smtp):
    assert smtp.recipients() == sorted(p.email for p in people)
    by_address = {d.recipients[0]: d.message for d in smtp.deliveries}
    for person in people:
        assert by_address[person.email]["Subject"].strip() == SUBJECTS[person.preferred_language]
    assert set(AccountEmail.objects.values_list("status", flat=True)) == {"sent"}


def _open_account_with_the_link(message, password="Tinghir-Ouarzazate-21"):
    """Follow the e-mailed link as the trainee would: it sets the password, once."""
    body = message.get_body(("plain",)).get_content()
    path = LINK.search(body).group(1)
    browser = Client()
    form = browser.get(path, follow=True)
    assert form.status_code == 200
    done = browser.post(
        form.redirect_chain[-1][0] if form.redirect_chain else path,
        {"new_password1": password, "new_password2": password},
    )
    assert done.status_code == 302
    again = Client().get(path, follow=True)
    assert b'data-link-invalid="true"' in again.content
    return password


def test_an_invitation_task_queued_twice_sends_each_trainee_one_email_in_their_language(
    start_worker, smtp, broker
):
    cohort, people, rsk = _cohort_to_invite()
    with transaction.atomic():  # the service puts them in the outbox, as in a request
        result = invite_cohort(cohort, by=rsk)
    assert result.invited == 3
    for row in AccountEmail.objects.all():
        send_account_email.delay(row.pk)  # a task under the name of before the outbox

    worker = start_worker()
    wait_for(lambda: len(smtp.deliveries) >= 3, timeout=TIMEOUT, what=lambda: worker.log_tail())
    worker.wait_idle(broker, timeout=TIMEOUT)

    assert worker.results(SEND) == ["False"] * 3  # already in the outbox: nothing added
    _assert_each_invited_once_in_their_language(people, smtp)
    arabic = next(p for p in people if p.preferred_language == "ar")
    message = next(d.message for d in smtp.deliveries if d.recipients[0] == arabic.email)
    assert 'dir="rtl"' in message.get_body(("html",)).get_content()
    password = _open_account_with_the_link(message)
    arabic.refresh_from_db()
    assert arabic.user.check_password(password)


def test_invitations_whose_wake_up_redis_lost_are_sent_once_by_the_outbox_sweep(
    start_worker, smtp, broker, queue
):
    cohort, people, rsk = _cohort_to_invite()
    with transaction.atomic():
        invite_cohort(cohort, by=rsk)
    assert queue_length(broker, queue) == 1  # one wake-up for the three
    broker.flushdb()  # Redis restarted without persistence (this test's database only)

    worker = start_worker()  # the beat's outbox sweep finds them in the database
    wait_for(lambda: len(smtp.deliveries) >= 3, timeout=TIMEOUT, what=lambda: worker.log_tail())
    worker.wait_idle(broker, timeout=TIMEOUT)
    _assert_each_invited_once_in_their_language(people, smtp)
    # The account e-mails' own sweep (for requests from before the outbox) finds nothing.
    AccountEmail.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=11))
    assert sweep_account_emails.apply().get() == {"queued": 0}
