"""Benchmark issuing 1,000 certificates through a real Celery worker on Redis and PostgreSQL.

It builds a synthetic finished cohort set (25 cohorts of 40 people, everyone present at
both sessions, so everyone is eligible), starts `celery -A worker worker` (prefork, two
processes by default) on a queue of its own, queues the issuance (one batch per cohort, as
managers start them, or one task per certificate), and prints progress every second. Each
certificate is rendered, stored and e-mailed to a real SMTP server (aiosmtpd, in this
process). At the end it prints:
  - the total time and certificates per second, through the worker;
  - baseline: certificates per second issued and e-mailed inline, in this process, measured
    in the same run on a separate cohort, and the ratio worker / inline (with two worker
    processes on two cores, about 2 means the queue costs nothing);
  - the worker's resident memory (VmRSS of the main process and of each pool process) once
    ready, after a warm-up of 20 certificates (each pool process loads ReportLab, the fonts
    and the templates on its first certificate), and after the run; the growth over the run,
    from the warmed-up worker, is the figure that would reveal a leak (goal: under 20 MB).

Run (the database is the benchmark's own: previous benchmark rows are deleted at start):
    createdb -h 127.0.0.1 -U postgres cycle2021_bench_worker
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/cycle2021_bench_worker
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/certificates_worker.py \\
        [--cohorts 25] [--size 40] [--mode batches|tasks] [--concurrency 2]
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cycle2021.settings")
os.environ.setdefault("DEBUG", "0")  # as in production (DEBUG keeps a log of every query)
# Served over plain HTTP here: no redirect to HTTPS (on by default without DEBUG).
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-key-8e2a4c6b0d1f3e5a7c9b1d3f5e7a9c0b")
MEDIA = Path(tempfile.mkdtemp(prefix="cycle2021-bench-worker-"))
os.environ["MEDIA_ROOT"] = str(MEDIA)  # the PDFs of this run only; the worker writes there too

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from certificates import services  # noqa: E402
from certificates.models import Certificate, CertificateBatch  # noqa: E402
from certificates.tasks import issue_certificate  # noqa: E402
from cohorts.models import (  # noqa: E402
    Attendance,
    Cohort,
    Enrolment,
    Participant,
    Programme,
    TrainingSession,
)
from tests.worker_fixtures import (  # noqa: E402
    SmtpSink,
    WorkerProcess,
    database_url,
    purge_queue,
    wait_for,
)
from worker import celery_app  # noqa: E402

PREFIX = "bench-worker"
DOMAIN = "bench-worker.example"
REGIONS = [f"MA-{n:02d}" for n in range(1, 13)]
GOAL_MB = 20


def reset() -> None:
    """Delete the rows of a previous run (certificates first: they protect the rest)."""
    cohorts = Cohort.objects.filter(code__startswith=PREFIX)
    Certificate.objects.filter(cohort__in=cohorts).delete()
    CertificateBatch.objects.filter(cohort__in=cohorts).delete()
    Attendance.objects.filter(session__cohort__in=cohorts).delete()
    Enrolment.objects.filter(cohort__in=cohorts).delete()
    TrainingSession.objects.filter(cohort__in=cohorts).delete()
    cohorts.delete()
    Participant.objects.filter(email__endswith="@" + DOMAIN).delete()


@transaction.atomic
def build(name: str, cohorts: int, size: int) -> list[Cohort]:
    """`cohorts` finished cohorts of `size` people, all present at both sessions."""
    programme = Programme.objects.get(code="R2021")
    rows = Cohort.objects.bulk_create(
        Cohort(programme=programme, code=f"{PREFIX}-{name}-{i:03d}", name=f"Bench {i}", year=2019)
        for i in range(cohorts)
    )
    Cohort.regions.through.objects.bulk_create(
        Cohort.regions.through(cohort_id=c.pk, region_id=REGIONS[i % 12])
        for i, c in enumerate(rows)
    )
    people = Participant.objects.bulk_create(
        Participant(
            first_name=f"Prénom{i}",
            last_name=f"Nom{i}",
            first_name_ar="أمينة",
            last_name_ar="بنعلي",
            sex="FM"[i % 2],
            role=("elu", "cadre")[i % 2],
            region_id=REGIONS[(i // size) % 12],
            email=f"{name}-{i}@{DOMAIN}",
            preferred_language=("fr", "ar", "en")[i % 3],
        )
        for i in range(cohorts * size)
    )
    starts = [datetime(2019, 3, 12, 9, tzinfo=UTC), datetime(2019, 3, 26, 9, tzinfo=UTC)]
    sessions = TrainingSession.objects.bulk_create(
        TrainingSession(
            cohort=cohort,
            title=f"Module {k + 1}",
            starts_at=start,
            ends_at=start + timedelta(hours=6),
            planned_hours=Decimal(6),
        )
        for cohort in rows
        for k, start in enumerate(starts)
    )
    Enrolment.objects.bulk_create(
        Enrolment(participant=p, cohort=rows[i // size], enrolled_on=date(2019, 2, 1))
        for i, p in enumerate(people)
    )
    by_cohort = {c.pk: [s for s in sessions if s.cohort_id == c.pk] for c in rows}
    Attendance.objects.bulk_create(
        Attendance(
            participant=p,
            session=s,
            status=Attendance.Status.PRESENT,
            recorded_at=s.ends_at,
        )
        for i, p in enumerate(people)
        for s in by_cohort[rows[i // size].pk]
    )
    return rows


def issued(cohorts: list[Cohort]) -> int:
    return Certificate.objects.filter(cohort__in=cohorts).count()


def emailed(cohorts: list[Cohort]) -> int:
    return Certificate.objects.filter(cohort__in=cohorts, emailed_at__isnull=False).count()


def inline_baseline(cohort: Cohort, smtp: SmtpSink) -> float:
    """Certificates per second issued and e-mailed in this process, one after the other."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True  # the e-mail task runs here, after each commit
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
    enrolments = list(Enrolment.objects.filter(cohort=cohort).select_related("participant"))
    started = time.perf_counter()
    for enrolment in enrolments:
        services.certificate_issue(participant=enrolment.participant, cohort=cohort)
    elapsed = time.perf_counter() - started
    celery_app.conf.task_always_eager = previous
    assert emailed([cohort]) == len(enrolments), "the baseline's e-mails were not all sent"
    return len(enrolments) / elapsed


def memory(worker: WorkerProcess) -> dict[str, int]:
    """VmRSS in KiB: the main process, then the pool processes in pid order."""
    rss = worker.resident_kib()
    children = sorted(pid for pid in rss if pid != worker.pid)
    return {"main": rss.get(worker.pid, 0)} | {
        f"pool {n + 1}": rss[pid] for n, pid in enumerate(children)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohorts", type=int, default=25)
    parser.add_argument("--size", type=int, default=40, help="people per cohort")
    parser.add_argument("--mode", choices=["batches", "tasks"], default="batches")
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        sys.exit("Set DATABASE_URL to a PostgreSQL database and REDIS_URL (see the docstring).")

    call_command("migrate", verbosity=0)
    reset()
    run = uuid.uuid4().hex[:8]
    cohorts = build(run, args.cohorts, args.size)
    (baseline_cohort,) = build(f"{run}-inline", 1, 50)
    (warm_up_cohort,) = build(f"{run}-warm-up", 1, 20)
    total = args.cohorts * args.size
    queue = f"bench-{run}"
    celery_app.conf.task_default_queue = queue
    client = redis.Redis.from_url(settings.REDIS_URL)
    smtp = SmtpSink().start()
    log = MEDIA / "worker.log"
    worker = None
    try:
        baseline = inline_baseline(baseline_cohort, smtp)
        print(f"baseline, inline in this process: {baseline:.1f} certificates/s")

        env = {
            **os.environ,
            "DATABASE_URL": database_url(connection.settings_dict),
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port),
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_USE_TLS": "0",
            "LOG_LEVEL": "WARNING",
        }
        worker = WorkerProcess(
            queue=queue, env=env, log_path=log, concurrency=args.concurrency
        ).wait_ready()
        time.sleep(1)  # let the pool processes finish starting before measuring them
        ready = memory(worker)
        for enrolment in Enrolment.objects.filter(cohort=warm_up_cohort):
            issue_certificate.delay(enrolment.participant_id, enrolment.cohort_id)
        wait_for(lambda: emailed([warm_up_cohort]) == 20, timeout=120, what="the warm-up")
        time.sleep(1)
        before = memory(worker)

        started, started_at = time.perf_counter(), datetime.now(UTC)
        if args.mode == "batches":
            for cohort in cohorts:
                services.certificate_batch_start(cohort=cohort)  # queued on commit
        else:
            for enrolment in Enrolment.objects.filter(cohort__in=cohorts):
                issue_certificate.delay(enrolment.participant_id, enrolment.cohort_id)
        done = 0
        while done < total or emailed(cohorts) < total:
            time.sleep(1)
            done, elapsed = issued(cohorts), time.perf_counter() - started
            rss = sum(memory(worker).values()) / 1024
            print(
                f"  {done:5d}/{total} issued, {emailed(cohorts):5d} e-mailed,"
                f" {elapsed:5.1f} s, {done / elapsed:5.1f}/s, worker {rss:.1f} MiB",
                flush=True,
            )
            if worker.process.poll() is not None or elapsed > 30 * 60:
                sys.exit("the worker stopped or the run took too long:\n" + worker.log_tail())
        # Precise end: the last certificate's e-mail, as the database recorded it.
        last = Certificate.objects.filter(cohort__in=cohorts).latest("emailed_at").emailed_at
        seconds = (last - started_at).total_seconds()
        wait_for(lambda: len(smtp.deliveries) >= total + 70, timeout=60, what="the e-mails")
        time.sleep(1)
        after = memory(worker)
    finally:
        if worker is not None:
            worker.stop()
        smtp.stop()
        purge_queue(client, queue)
        pdf_kib = sum(p.stat().st_size for p in MEDIA.glob("certificates/*")) / 1024
        shutil.rmtree(MEDIA)

    rate = total / seconds
    growth = (sum(after.values()) - sum(before.values())) / 1024
    print()
    print(f"{total} certificates ({args.mode}, {args.concurrency} worker processes)")
    print(f"  total time           {seconds:8.1f} s (queued → last e-mail recorded)")
    print(f"  through the worker   {rate:8.1f} certificates/s")
    print(f"  inline baseline      {baseline:8.1f} certificates/s (one process)")
    print(f"  ratio worker/inline  {rate / baseline:8.2f}")
    print(f"  PDFs                 {pdf_kib / (total + 70):8.1f} KiB each")
    print(f"  e-mails delivered    {len(smtp.deliveries):8d} (to {len(smtp.recipients())} people)")
    print("  worker memory (VmRSS, MiB)    ready   warm   after   growth over the run")
    for name in before:
        r, b, a = (m.get(name, 0) / 1024 for m in (ready, before, after))
        print(f"    {name:24s} {r:7.1f} {b:7.1f} {a:7.1f}  {a - b:+7.1f}")
    r, b, a = (sum(m.values()) / 1024 for m in (ready, before, after))
    verdict = "within" if growth < GOAL_MB else "OVER"
    print(f"    {'total':24s} {r:7.1f} {b:7.1f} {a:7.1f}  {growth:+7.1f} ({verdict} {GOAL_MB} MB)")
    print(f"  growth from the ready worker, warm-up included: {a - r:+.1f} MiB")


if __name__ == "__main__":
    main()
