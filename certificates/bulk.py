"""Issue every certificate due in many cohorts at once (the national demo: about 40,000).

`certificate_issue` takes one transaction and about 18 queries per certificate and renders
its PDF in the calling process. Here the certificates are issued in batches, one
transaction each: rows inserted together, PDFs rendered by a pool of processes (the
renderer is a pure function) while the next batch's progress is read, files stored, rows
completed. Each certificate is what `certificate_issue` makes: eligibility and hours from
`enrolments_progress` at issuance, serial from the row's id, a fresh verification code, the
PDF's data from the service's own `_certificate_data`, one `CertificateFile` per PDF.

Nothing is mailed here: with `emailed_at` the certificates are recorded as sent (demo
addresses are fictitious), without it the reconciliation sweep mails them.
"""

import hashlib
import multiprocessing
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from certificates.codes import new_code, serial
from certificates.credentials import credentials_issue
from certificates.models import Certificate, CertificateFile
from certificates.pdf import CertificateData, register_fonts, render_certificate_pdf
from certificates.rules import Progress
from certificates.selectors import certificates_due, enrolments_progress
from certificates.services import _certificate_data, certificate_issue
from certificates.signals import certified_sync_pairs
from cohorts.models import Cohort, Enrolment, Programme
from cohorts.report_cache import reports_changed

BATCH_SIZE = 500
# Cohorts whose due certificates are listed in one query (about 30 people each).
COHORTS_PER_QUERY = 100

Rendering = Callable[[], list[bytes]]
Renderer = Callable[[list[CertificateData]], Rendering]


def certificate_issue_due(
    *,
    cohorts: QuerySet[Cohort],
    emailed_at: datetime | None = None,
    processes: int | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[str, int, int], None] | None = None,
) -> int:
    """Issue every certificate due in these cohorts (`certificates_due`); return how many.

    `progress(phase, done, total)` hears of the cohorts examined ("eligibility"), then of
    the certificates ("certificates"). An enrolment no longer eligible when its batch
    comes is skipped; a batch that meets a certificate issued meanwhile elsewhere is
    issued one by one by `certificate_issue`. `processes`: how many render PDFs (default
    one per CPU; below 2, this process renders).
    """
    ids = list(cohorts.order_by("pk").values_list("pk", flat=True))
    due: list[Enrolment] = []
    if progress:  # each phase is timed from its first report
        progress("eligibility", 0, len(ids))
    for start in range(0, len(ids), COHORTS_PER_QUERY):
        chunk = ids[start : start + COHORTS_PER_QUERY]
        due += certificates_due(Cohort.objects.filter(pk__in=chunk))
        if progress:
            progress("eligibility", start + len(chunk), len(ids))
    now = timezone.now()
    if processes is None:
        processes = os.cpu_count() or 1
    total, done, issued = len(due), 0, 0
    if progress:
        progress("certificates", 0, total)
    batches = _eligible_batches(due, batch_size, now)
    with _renderer(processes if total > 1 else 0) as render:
        batch = next(batches, None)
        while batch is not None:
            size, rows = batch
            with transaction.atomic():
                certificates = _insert(rows, now, emailed_at)
                if certificates is None:
                    issued += _issue_one_by_one(rows, emailed_at)
                    batch = next(batches, None)
                else:
                    rendering = render([_certificate_data(c) for c in certificates])
                    batch = next(batches, None)  # read while the PDFs render
                    _store(certificates, rendering(), now)
                    # Bulk inserts send no signal: the summaries' flag and the reports here.
                    certified_sync_pairs((c.participant_id, c.cohort_id) for c in certificates)
                    reports_changed({c.participant.region_id for c in certificates})
                    issued += len(certificates)
            done += size
            if progress:
                progress("certificates", done, total)
    return issued


def _eligible_batches(
    enrolments: Sequence[Enrolment], batch_size: int, now: datetime
) -> Iterator[tuple[int, list[tuple[Enrolment, Progress]]]]:
    """Each batch's size and its enrolments still eligible now, with their progress, read
    as `certificate_issue` reads them."""
    for start in range(0, len(enrolments), batch_size):
        batch = enrolments[start : start + batch_size]
        rows = enrolments_progress(
            Enrolment.objects.filter(pk__in=[e.pk for e in batch]).order_by("pk"), now=now
        )
        yield len(batch), [(r.enrolment, r.progress) for r in rows if r.progress.eligible]


def _insert(
    rows: list[tuple[Enrolment, Progress]], now: datetime, emailed_at: datetime | None
) -> list[Certificate] | None:
    """Insert the batch's certificates with their serials; None if one already exists."""
    certificates = [
        Certificate(
            participant=enrolment.participant,
            cohort=enrolment.cohort,
            serial=f"pending-{uuid.uuid4().hex}",
            verification_code=new_code(),
            issued_on=timezone.localdate(now),
            hours_attended=progress.hours_attended,
            emailed_at=emailed_at,
        )
        for enrolment, progress in rows
    ]
    try:
        with transaction.atomic():
            Certificate.objects.bulk_create(certificates)
    except IntegrityError:
        return None
    programme_ids = {c.cohort.programme_id for c in certificates}
    codes = dict(Programme.objects.filter(pk__in=programme_ids).values_list("pk", "code"))
    for certificate in certificates:
        certificate.serial = serial(
            programme_code=codes[certificate.cohort.programme_id],
            year=certificate.cohort.year,
            region_code=certificate.participant.region_id,
            number=certificate.pk,
        )
    return certificates


def _store(certificates: list[Certificate], contents: list[bytes], now: datetime) -> None:
    """Store each PDF and its hash as `certificate_issue` does (same name, same file row)."""
    files = []
    for certificate, content in zip(certificates, contents, strict=True):
        name = f"certificates/{certificate.serial}-v{certificate.version}.pdf"
        if default_storage.exists(name):  # left by a rolled-back attempt
            default_storage.delete(name)
        certificate.pdf.name = default_storage.save(name, ContentFile(content))
        certificate.sha256 = hashlib.sha256(content).hexdigest()
        files.append(
            CertificateFile(
                certificate=certificate,
                version=certificate.version,
                pdf=certificate.pdf.name,
                sha256=certificate.sha256,
                created_at=now,
            )
        )
    CertificateFile.objects.bulk_create(files)
    Certificate.objects.bulk_update(certificates, ["serial", "pdf", "sha256"])
    credentials_issue(certificates, now)


def _issue_one_by_one(rows: list[tuple[Enrolment, Progress]], emailed_at: datetime | None) -> int:
    issued = 0
    for enrolment, _progress in rows:
        if Certificate.objects.filter(
            participant_id=enrolment.participant_id, cohort_id=enrolment.cohort_id
        ).exists():
            continue
        try:
            with transaction.atomic():
                certificate = certificate_issue(
                    participant=enrolment.participant, cohort=enrolment.cohort, notify=False
                )
                if emailed_at is not None:
                    Certificate.objects.filter(pk=certificate.pk).update(emailed_at=emailed_at)
        except ValidationError:  # no longer eligible
            continue
        issued += 1
    return issued


@contextmanager
def _renderer(processes: int) -> Iterator[Renderer]:
    """A function that starts rendering a batch and returns how to wait for its PDFs."""
    if processes < 2:
        yield lambda datas: lambda: [render_certificate_pdf(d) for d in datas]
        return
    # Spawned, not forked: a child must not share this process's database connection. (A
    # spawned child imports the caller's main script: manage.py and pytest guard theirs.)
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes, initializer=register_fonts) as pool:

        def start(datas: list[CertificateData]) -> Rendering:
            chunk = max(1, len(datas) // (4 * processes))
            return pool.map_async(render_certificate_pdf, datas, chunksize=chunk).get

        yield start
