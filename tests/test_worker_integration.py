"""A real Celery worker process on the real Redis, with a real SMTP server.

Tasks queued here go to Redis and run in `celery -A worker worker` (prefork, two
processes), which opens the test database (committed data: transactional tests). What
must hold is the design's first principle: a task may run twice, at once, or be lost
with its worker or with Redis' data, and every certificate is still issued, stored and
e-mailed exactly once.
"""

import ast
import datetime
import hashlib
import os
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.db import connection

from certificates import services
from certificates.models import Certificate, CertificateBatch, CertificateFile
from certificates.tasks import issue_certificate, sweep_certificates
from cohorts.models import Notification
from messaging.tasks import sweep_outbox
from tests.test_certificates import _completed
from tests.worker_fixtures import (
    SmtpSink,
    WorkerProcess,
    database_url,
    purge_queue,
    queue_length,
    wait_for,
)
from worker import celery_app

pytestmark = [
    pytest.mark.integration,
    # The worker is another process: it sees committed rows only. Regions and the programme
    # come from data migrations, which a transactional test's flush would otherwise remove.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

NEEDS_REDIS = "needs Redis: set REDIS_URL=redis://127.0.0.1:6379/15 (redis-server)"
TIMEOUT = 60  # seconds; generous, only ever the limit of a wait
SWEEP_SECONDS = 1
LEASE_SECONDS = 6
SCALED = {
    "SWEEP_SECONDS",
    "OUTBOX_LEASE_SECONDS",
    "OUTBOX_RETRY_SECONDS",
    "CERTIFICATE_BATCH_SILENCE_SECONDS",
    "EMAIL_TIMEOUT",
}
# Redis hands an unacknowledged message to another worker after the visibility timeout (15
# minutes in worker/celery.py); a test worker uses a few seconds, and looks every second.
QUICK_REDELIVERY = (
    'broker_transport_options=(json){"visibility_timeout": 8,'
    ' "unacked_restore_interval": 1, "unacked_restore_throttle": 1}'
)
ISSUE = "certificates.tasks.issue_certificate"
BATCH = "certificates.tasks.issue_cohort_certificates"
SWEEP = "certificates.tasks.sweep_certificates"


@pytest.fixture
def broker(settings):
    """A Redis client on the broker; skipped (a failure under CI=true) without Redis."""
    if not settings.REDIS_URL:
        pytest.skip(NEEDS_REDIS)
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=10)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(NEEDS_REDIS)
    assert not celery_app.conf.task_always_eager, "integration tasks must go through Redis"
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _fresh_cache(broker):
    """conftest's `_fresh_cache`, after the Redis check: with Redis down, these tests are
    skipped rather than erroring in the cache's FLUSHDB."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def queue(broker):
    """A queue of this test's own: stale messages or a parallel run never reach its worker."""
    name = f"it-{uuid.uuid4().hex[:12]}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = name
    yield name
    celery_app.conf.task_default_queue = previous
    purge_queue(broker, name)


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def start_worker(transactional_db, queue, smtp, settings, tmp_path):
    """Start a worker on the test database, this test's queue and the SMTP sink; every
    worker started is killed before the database is flushed."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cycle2021.settings",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": settings.REDIS_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
        "EMAIL_USE_TLS": "0",
        # The production timings scaled down (README, "Messages"): the sweeps every second,
        # a sender's lease of 6 s, retries after 1 s, a silent batch resumed after 3 s.
        "SWEEP_SECONDS": str(SWEEP_SECONDS),
        "OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        "OUTBOX_RETRY_SECONDS": "1",
        "CERTIFICATE_BATCH_SILENCE_SECONDS": "3",
        "EMAIL_TIMEOUT": "3",
    }
    started: list[WorkerProcess] = []

    def start(*config: str, beat: bool = True, production_timings: bool = False) -> WorkerProcess:
        """A worker, with the beat's sweeps unless `beat` is False; with the production
        timings (minutes, not seconds) if asked: the fault runs measure those."""
        log = tmp_path / f"worker-{len(started) + 1}.log"
        environment = {k: v for k, v in env.items() if k not in SCALED or not production_timings}
        worker = WorkerProcess(queue=queue, env=environment, log_path=log, config=config, beat=beat)
        started.append(worker)
        return worker.wait_ready()

    yield start
    for worker in started:
        worker.kill()  # the test is over: nothing left to finish, and no shutdown to wait for


# Helpers -------------------------------------------------------------------------------


def _issued(cohort) -> int:
    return Certificate.objects.filter(cohort=cohort).count()


def _all_issued_and_emailed(cohort, people, smtp):
    def check() -> bool:
        return _issued(cohort) == len(people) and set(smtp.recipients()) == {
            p.email for p in people
        }

    return check


def _progress(cohort, people, smtp) -> str:
    return (
        f"{len(people)} certificates and e-mails; {_issued(cohort)} issued, "
        f"{len(smtp.recipients())} e-mails delivered"
    )


def _kill_mid_batch(worker: WorkerProcess, smtp: SmtpSink, cohort, total: int) -> int:
    """SIGKILL the worker (main and pool processes) while the batch is part done; return
    how many certificates had been issued.

    The SMTP server holds every message arriving from the start (neither accepted nor
    refused) and refuses them after the kill: the e-mails all go after it, the one cut off
    mid-send included. Any accepted before the hold took effect is recorded as sent when
    the kill comes; a crash between the server's "250 OK" and that record would send the
    e-mail twice (at most that one: test_outbox_faults), which this test does not aim at.
    """
    smtp.hold()
    wait_for(
        lambda: _issued(cohort) >= 5,
        timeout=TIMEOUT,
        what=lambda: f"the batch to issue 5 certificates ({_issued(cohort)} so far)",
    )
    wait_for(
        lambda: not _accepted_but_unrecorded(smtp),
        timeout=TIMEOUT,
        what="the e-mails accepted by the SMTP server to be recorded as sent",
    )
    worker.kill()
    smtp.release()
    issued = _issued(cohort)
    assert issued < total, "the batch was done before the kill: give the cohort more people"
    return issued


def _accepted_but_unrecorded(smtp: SmtpSink) -> bool:
    return Certificate.objects.filter(
        participant__email__in=smtp.recipients(), emailed_at__isnull=True
    ).exists()


def _assert_each_issued_stored_and_emailed_once(cohort, people, smtp, media_root, *, kills=0):
    certificates = list(Certificate.objects.filter(cohort=cohort).select_related("participant"))
    assert sorted(c.participant_id for c in certificates) == sorted(p.pk for p in people)
    files = CertificateFile.objects.filter(certificate__cohort=cohort)
    assert sorted(files.values_list("certificate_id", "version")) == sorted(
        (c.pk, 1) for c in certificates
    )
    folder = Path(media_root) / "certificates"
    for certificate in certificates:
        stored = (Path(media_root) / certificate.pdf.name).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == certificate.sha256, certificate.serial
    referenced = {Path(c.pdf.name).name for c in certificates}
    on_disk = {path.name for path in folder.iterdir()}
    assert referenced <= on_disk
    # A process killed between writing a PDF and committing its certificate leaves that file
    # behind (the rollback cannot remove it; on PostgreSQL the next try has a new serial).
    # Such a file is never a certificate's: at most one per pool process killed.
    assert len(on_disk - referenced) <= 2 * kills, sorted(on_disk - referenced)
    # One e-mail per person, carrying the stored PDF.
    assert smtp.recipients() == sorted(p.email for p in people)
    by_recipient = {d.recipients[0]: d.message for d in smtp.deliveries}
    for certificate in certificates:
        message = by_recipient[certificate.participant.email]
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_filename() == f"{certificate.serial}.pdf"
        assert hashlib.sha256(attachment.get_content()).hexdigest() == certificate.sha256


def _batch(batch) -> CertificateBatch:
    return CertificateBatch.objects.get(pk=batch.pk)


def _run_sweep(worker: WorkerProcess, broker) -> dict:
    """Queue the reconciliation sweep, wait for the worker to finish everything it queues,
    and return what the sweep reported."""
    runs = len(worker.results(SWEEP))
    sweep_certificates.delay()
    wait_for(lambda: len(worker.results(SWEEP)) > runs, timeout=TIMEOUT, what="the sweep")
    worker.wait_idle(broker, timeout=TIMEOUT)
    return ast.literal_eval(worker.results(SWEEP)[-1])


# Tests ---------------------------------------------------------------------------------


def test_the_same_certificate_issued_by_concurrent_tasks_exists_once_with_one_file_and_email(
    start_worker, smtp, broker, settings
):
    cohort, _sessions, (amina, *_others) = _completed(3)
    for _ in range(4):
        issue_certificate.delay(amina.pk, cohort.pk)
    # Queued before the worker starts: its two processes take the first two at once.
    worker = start_worker()
    wait_for(
        lambda: len(worker.results(ISSUE)) == 4 and smtp.recipients(),
        timeout=TIMEOUT,
        what=lambda: "four issue tasks and an e-mail:\n" + worker.log_tail(),
    )
    worker.wait_idle(broker, timeout=TIMEOUT)

    certificate = Certificate.objects.get()
    assert worker.results(ISSUE) == [str(certificate.pk)] * 4
    assert certificate.participant_id == amina.pk and certificate.emailed_at is not None
    assert list(CertificateFile.objects.values_list("certificate_id", "version")) == [
        (certificate.pk, 1)
    ]
    folder = Path(settings.MEDIA_ROOT) / "certificates"
    assert [p.name for p in folder.iterdir()] == [f"{certificate.serial}-v1.pdf"]
    _assert_each_issued_stored_and_emailed_once(cohort, [amina], smtp, settings.MEDIA_ROOT)


@pytest.mark.slow  # about 20 s: in make test-slow
def test_a_batch_whose_worker_is_killed_comes_back_to_a_new_worker_and_issues_each_once(
    start_worker, smtp, broker, settings
):
    cohort, _sessions, people = _completed(40)
    first = start_worker()
    batch = services.certificate_batch_start(cohort=cohort)  # queued on commit
    assert batch.total == 40
    _kill_mid_batch(first, smtp, cohort, total=40)
    (batch_task,) = {e.id for e in first.events() if e.name == BATCH}

    # Acknowledged late, the batch's message is still Redis's: a new worker gets it back.
    # (Without the beat here: its batch sweep would resume the batch first; that way back
    # is the next test's.)
    second = start_worker(QUICK_REDELIVERY, beat=False)
    wait_for(
        lambda: _batch(batch).status == CertificateBatch.Status.DONE,
        timeout=TIMEOUT,
        what=lambda: (
            f"the batch to come back and finish ({_issued(cohort)}/40):\n" + second.log_tail()
        ),
    )
    second.wait_idle(broker, timeout=TIMEOUT)
    assert batch_task in {
        e.id for e in second.events() if e.name == BATCH and e.event != "received"
    }
    batch = _batch(batch)
    assert (batch.status, batch.done, batch.total) == ("done", 40, 40)
    # The redelivered batch left nothing to issue.
    assert _run_sweep(second, broker)["issued"] == 0
    # The e-mails the dead sender held come back once its lease runs out: the outbox's
    # sweep, run here by hand as the beat would, wakes a sender.
    swept = [0.0]

    def all_emailed() -> bool:
        if time.monotonic() - swept[0] >= SWEEP_SECONDS:
            sweep_outbox.delay()
            swept[0] = time.monotonic()
        return _all_issued_and_emailed(cohort, people, smtp)()

    wait_for(all_emailed, timeout=TIMEOUT, what=lambda: _progress(cohort, people, smtp))
    second.wait_idle(broker, timeout=TIMEOUT)
    _assert_each_issued_stored_and_emailed_once(cohort, people, smtp, settings.MEDIA_ROOT, kills=1)


def test_a_batch_lost_with_its_worker_is_resumed_by_the_sweep_each_certificate_once(
    start_worker, smtp, broker, settings
):
    cohort, _sessions, people = _completed(40)
    first = start_worker()
    batch = services.certificate_batch_start(cohort=cohort)
    _kill_mid_batch(first, smtp, cohort, total=40)

    # With the production visibility timeout the batch's message stays out of reach for
    # 15 minutes: as good as lost. The beat's batch sweep sees the batch gone silent and
    # queues it again; the outbox's sweep sends the e-mails left behind. Nobody steps in.
    second = start_worker()
    wait_for(
        _all_issued_and_emailed(cohort, people, smtp),
        timeout=TIMEOUT,
        what=lambda: _progress(cohort, people, smtp) + "\n" + second.log_tail(),
    )
    wait_for(
        lambda: _batch(batch).status == CertificateBatch.Status.DONE,
        timeout=TIMEOUT,
        what="the batch re-queued by the sweep to finish",
    )
    second.wait_idle(broker, timeout=TIMEOUT)
    batch = _batch(batch)
    assert (batch.status, batch.done, batch.total) == ("done", 40, 40)
    # It was the batch sweep that brought it back, not a redelivery.
    assert any(int(n) >= 1 for n in second.results("certificates.tasks.sweep_certificate_batches"))
    _assert_each_issued_stored_and_emailed_once(cohort, people, smtp, settings.MEDIA_ROOT, kills=1)


def test_after_redis_loses_the_queued_messages_every_certificate_is_issued_and_sent_once(
    start_worker, smtp, broker, queue, settings
):
    cohort, _sessions, people = _completed(10)
    batch = services.certificate_batch_start(cohort=cohort)
    for person in people[:3]:
        issue_certificate.delay(person.pk, cohort.pk)
    # Redis flushed (or restarted without persistence) before any worker ran: everything this
    # run had queued is gone. Only this run's keys are deleted; other users of the database
    # keep theirs.
    purge_queue(broker, queue)
    assert queue_length(broker, queue) == 0

    worker = start_worker()  # with the beat: its sweeps find the batch in the database
    wait_for(
        _all_issued_and_emailed(cohort, people, smtp),
        timeout=TIMEOUT,
        what=lambda: _progress(cohort, people, smtp),
    )
    wait_for(
        lambda: _batch(batch).status == CertificateBatch.Status.DONE,
        timeout=TIMEOUT,
        what="the batch re-queued by the sweep to finish",
    )
    worker.wait_idle(broker, timeout=TIMEOUT)
    assert (_batch(batch).done, _batch(batch).total) == (10, 10)
    _assert_each_issued_stored_and_emailed_once(cohort, people, smtp, settings.MEDIA_ROOT)


@pytest.mark.slow  # about 13 s: in make test-slow
def test_redis_wiped_and_the_worker_killed_mid_batch_every_certificate_issued_and_sent_once(
    start_worker, smtp, broker, queue, settings
):
    """A machine restart mid-batch: the worker dies and Redis comes back empty (its
    unacknowledged batch message gone with it). The database alone carries the work to
    its end: the batch sweep resumes the batch, the outbox sends what it has; the cleanup
    then leaves no file without its certificate."""
    from certificates.cleanup import orphan_files_delete

    cohort, _sessions, people = _completed(40)
    first = start_worker()
    services.certificate_batch_start(cohort=cohort)
    _kill_mid_batch(first, smtp, cohort, total=40)
    purge_queue(broker, queue)
    broker.flushdb()  # the test's own Redis database: the cache and every key with it

    second = start_worker()
    wait_for(
        _all_issued_and_emailed(cohort, people, smtp),
        timeout=TIMEOUT,
        what=lambda: _progress(cohort, people, smtp) + "\n" + second.log_tail(),
    )
    second.wait_idle(broker, timeout=TIMEOUT)
    orphan_files_delete(older_than=datetime.timedelta(0))
    folder = Path(settings.MEDIA_ROOT) / "certificates"
    on_disk = {path.name for path in folder.iterdir()}
    assert on_disk == {
        Path(name).name for name in Certificate.objects.values_list("pdf", flat=True)
    }
    _assert_each_issued_stored_and_emailed_once(cohort, people, smtp, settings.MEDIA_ROOT)


def test_an_email_cut_off_by_a_killed_worker_is_sent_again_once(
    start_worker, smtp, broker, settings
):
    cohort, _sessions, (amina, *_others) = _completed(1)
    smtp.hold()
    first = start_worker()
    issue_certificate.delay(amina.pk, cohort.pk)
    wait_for(lambda: smtp.held, timeout=TIMEOUT, what="the e-mail to reach the SMTP server")
    first.kill()  # mid-send: the server has the message, and has not accepted it
    smtp.release()
    (row,) = Notification.objects.filter(kind="certificate")
    assert row.status == "sending"  # claimed by the dead sender, its lease running

    # Once the dead sender's lease has run out, the outbox's sweep wakes a new sender.
    second = start_worker()
    wait_for(
        lambda: smtp.recipients(),
        timeout=TIMEOUT,
        what=lambda: "the e-mail to be sent again:\n" + second.log_tail(),
    )
    second.wait_idle(broker, timeout=TIMEOUT)
    assert smtp.recipients() == [amina.email]
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    _assert_each_issued_stored_and_emailed_once(cohort, [amina], smtp, settings.MEDIA_ROOT)
