"""The outbox's promise, measured under faults with the production timings (`make
test-faults`, a slower target that .ci/run also runs): 800 reminders (400 people, two
sessions), the whole worker SIGKILLed twice at random moments while it sends, the mail
server stopped for 30 s. Nothing is lost; duplicates are at most one per kill (the message
on the wire); everything is delivered within 5 minutes of the last fault, with no help
but the beat's sweeps (every minute) and the senders' leases (two minutes).

The kills are not aimed: each falls after a random number of deliveries (the seed is
printed, FAULTS_SEED repeats a run), so a kill may land between the server's "250 OK"
and the record of it: that message goes twice, and only that one.
"""

import datetime
import os
import random
import time
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from cohorts.models import Notification
from messaging.notices import notices_due, notices_put
from tests import test_notices_integration as notices_integration
from tests import test_worker_integration as worker_integration
from tests.factories import CohortFactory, EnrolmentFactory, ParticipantFactory, SessionFactory
from tests.worker_fixtures import wait_for

broker = worker_integration.broker
queue = worker_integration.queue
start_worker = worker_integration.start_worker
smtp = notices_integration.smtp  # a sink that can stop and start again on its port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.faults,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CASABLANCA = ZoneInfo("Africa/Casablanca")
START = datetime.datetime(2019, 10, 21, 9, 0, tzinfo=CASABLANCA)
NOW = START - datetime.timedelta(days=1)
PEOPLE = 400
TITLES = ("Finances régionales", "Fiscalité locale")
PROMISE = 5 * 60  # seconds from the last fault to the last message
OUTAGE = 30


def _programme():
    with transaction.atomic():
        cohort = CohortFactory(year=2019)
        for index, title in enumerate(TITLES):
            SessionFactory(
                cohort=cohort, title=title, starts_at=START + datetime.timedelta(hours=3 * index)
            )
        people = [
            EnrolmentFactory(cohort=cohort, participant=ParticipantFactory()).participant
            for _ in range(PEOPLE)
        ]
    return people


def _received(smtp) -> Counter:
    """How many times each (recipient, session) reminder arrived."""
    counts: Counter = Counter()
    with smtp._lock:
        deliveries = list(smtp.deliveries)
    for delivery in deliveries:
        subject = str(delivery.message["subject"])
        title = next(t for t in TITLES if t in subject)
        counts[(delivery.recipients[0], title)] += 1
    return counts


def test_800_reminders_two_kills_and_a_mail_outage_nothing_lost_one_duplicate_per_kill(
    start_worker, smtp, broker
):
    seed = int(os.environ.get("FAULTS_SEED", random.randrange(10**6)))
    chance = random.Random(seed)
    print(f"\nFAULTS_SEED={seed}")
    people = _programme()
    due = notices_due(now=NOW).notices
    assert len(due) == 2 * PEOPLE
    smtp.delay = 0.01  # a mail server answering in 10 ms: the run takes about 15 s
    expected = {(p.email, t) for p in people for t in TITLES}
    started = time.monotonic()
    timeline = []

    def mark(event: str) -> None:
        timeline.append((round(time.monotonic() - started, 1), event, len(smtp.deliveries)))

    worker = start_worker(production_timings=True)
    notices_put(due)  # in the outbox; a sender is woken on commit

    def after_some_more(low: int, high: int) -> None:
        target = len(smtp.deliveries) + chance.randint(low, high)
        wait_for(
            lambda: len(smtp.deliveries) >= target,
            timeout=PROMISE,
            what=lambda: f"{target} deliveries (seed {seed}):\n" + worker.log_tail(),
        )
        time.sleep(chance.uniform(0, 0.05))  # anywhere within a message

    # The mail server goes away for 30 s while the worker sends.
    after_some_more(50, 200)
    smtp.stop()
    mark("mail server stopped")
    time.sleep(OUTAGE)
    smtp.start()
    mark("mail server back")
    # Then the whole worker is killed twice, each time while it sends.
    kills = 0
    for _kill in range(2):
        after_some_more(50, 200)
        worker.kill()
        kills += 1
        mark("worker killed")
        worker = start_worker(production_timings=True)
        mark("worker started")
    last_fault = time.monotonic()

    wait_for(
        lambda: set(_received(smtp)) >= expected,
        timeout=PROMISE + 60,
        what=lambda: (
            f"every reminder; {len(set(_received(smtp)) & expected)} of {len(expected)} so far "
            f"(seed {seed}):\n" + worker.log_tail()
        ),
    )
    recovered = time.monotonic() - last_fault
    mark("all delivered")
    counts = _received(smtp)
    duplicates = sum(n - 1 for n in counts.values())
    print("timeline (s, event, deliveries so far):", *timeline, sep="\n  ")
    print(f"delivered all {len(expected)} in {recovered:.0f} s after the last fault; "
          f"{duplicates} duplicate(s) for {kills} kill(s)")  # fmt: skip
    assert set(counts) == expected  # nothing lost, nothing to anyone else
    assert duplicates <= kills
    assert recovered <= PROMISE
    statuses = Counter(Notification.objects.values_list("status", flat=True))
    assert statuses == {"sent": 2 * PEOPLE}
