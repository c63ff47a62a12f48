"""Certificate tasks: issue one, run a cohort's batch, and the reconciliation sweep.

Each takes ids, loads the rows and calls one service; each is safe to run twice or to lose
(the sweep re-derives what is due from the database).
"""

import logging

from celery import shared_task
from django.core.exceptions import ValidationError
from django.db import OperationalError

from certificates.cleanup import orphan_files_delete
from certificates.models import Certificate, CertificateBatch
from certificates.selectors import certificates_due
from certificates.services import certificate_batch_run, certificate_issue
from cohorts.models import Cohort, Participant
from cohorts.queue import enqueue_now

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


@shared_task
def sweep_certificates() -> dict:
    """Reconcile: issue every certificate that is due and missing; e-mail those not sent.

    A lost queue message (a Redis restart, a killed worker) only delays a certificate.
    """
    # A batch whose message was lost would stay "running" for ever: queue it again (it
    # only issues what is still due, so a second run is harmless).
    unfinished = CertificateBatch.objects.exclude(status=CertificateBatch.Status.DONE)
    for batch_id in unfinished.values_list("pk", flat=True):
        issue_cohort_certificates.delay(batch_id)
    due = certificates_due(Cohort.objects.all())
    for enrolment in due:
        issue_certificate.delay(enrolment.participant_id, enrolment.cohort_id)
    unsent = Certificate.objects.filter(
        emailed_at__isnull=True, status=Certificate.Status.ISSUED, participant__email__isnull=False
    ).values_list("pk", flat=True)
    for certificate_id in unsent:
        # Sending belongs to messaging, above this app: queued by the task's name.
        enqueue_now("messaging.tasks.email_certificate", certificate_id)
    return {"issued": len(due), "emails": len(unsent)}


@shared_task
def clean_orphan_files() -> int:
    """Daily: delete certificate files left by rolled-back issuances (certificates.cleanup)."""
    deleted = orphan_files_delete()
    if deleted:
        logger.warning("deleted %s orphan certificate file(s): %s", len(deleted), deleted[:10])
    return len(deleted)
