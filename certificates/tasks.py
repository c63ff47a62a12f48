"""Certificate tasks: issue one, run a cohort's batch, and the reconciliation sweep.

Each takes ids, loads the rows and calls one service; each is safe to run twice or to lose
(the sweep re-derives what is due from the database).
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import OperationalError
from django.db.models import Q
from django.utils import timezone

from certificates.cleanup import orphan_files_delete
from certificates.credentials import credentials_backfill
from certificates.models import CertificateBatch
from certificates.selectors import certificates_due
from certificates.services import certificate_batch_run, certificate_issue
from cohorts.models import Cohort, Participant

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def issue_certificate(participant_id: int, cohort_id: int) -> int | None:
    participant = Participant.objects.filter(pk=participant_id).first()
    cohort = Cohort.objects.filter(pk=cohort_id).first()
    if participant is None or cohort is None:
        return None
    try:
        return certificate_issue(participant=participant, cohort=cohort).pk
    except ValidationError as exc:  # permanent: no longer eligible, not ended...
        logger.info("certificate not issued for %s in %s: %s", participant_id, cohort_id, exc)
        return None


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def issue_cohort_certificates(batch_id: int) -> int:
    batch = CertificateBatch.objects.filter(pk=batch_id).first()
    if batch is None or batch.status == CertificateBatch.Status.DONE:
        return 0
    return certificate_batch_run(batch=batch).done


def _silence() -> timedelta:
    """A batch run gives a sign of life with every certificate (a PDF takes well under a
    second); silent this long, it has lost its run."""
    return timedelta(seconds=settings.CERTIFICATE_BATCH_SILENCE_SECONDS)


@shared_task
def sweep_certificate_batches() -> int:
    """Every minute: queue again the unfinished batches whose run went silent (a killed
    worker, a message lost with Redis' data). A second run only issues what is still due,
    and the certificate's unique row decides between two at once."""
    now = timezone.now()
    silent = CertificateBatch.objects.exclude(status=CertificateBatch.Status.DONE).filter(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - _silence())
    )
    requeued = 0
    for batch_id in silent.values_list("pk", flat=True):
        # Marked as queued now, so that the next sweeps leave it to this run for a while.
        if CertificateBatch.objects.filter(pk=batch_id).update(heartbeat_at=now):
            issue_cohort_certificates.delay(batch_id)
            requeued += 1
    return requeued


@shared_task
def sweep_certificates() -> dict:
    """Hourly: issue every certificate that is due and missing (a lost issuance, a cohort
    nobody ran a batch for). Their e-mails go through the outbox. Certificates without a
    digital credential get theirs."""
    due = certificates_due(Cohort.objects.all())
    for enrolment in due:
        issue_certificate.delay(enrolment.participant_id, enrolment.cohort_id)
    return {
        "issued": len(due),
        "batches": sweep_certificate_batches(),
        "credentials": credentials_backfill(),  # certificates from before credentials
    }


@shared_task
def clean_orphan_files() -> int:
    """Daily: delete certificate files left by rolled-back issuances (certificates.cleanup)."""
    deleted = orphan_files_delete()
    if deleted:
        logger.warning("deleted %s orphan certificate file(s): %s", len(deleted), deleted[:10])
    return len(deleted)
