"""Background tasks. Each takes ids, loads rows and calls one service; each is safe to run
twice or to lose (the periodic sweep re-derives what is due from the database)."""

import logging
import smtplib

from celery import shared_task
from django.db import OperationalError, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

TRANSIENT = (smtplib.SMTPException, ConnectionError, TimeoutError, OperationalError)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def issue_certificate(participant_id: int, cohort_id: int) -> int | None:
    from django.core.exceptions import ValidationError

    from certificates.services import certificate_issue
    from cohorts.models import Cohort, Participant

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
    from certificates.models import CertificateBatch
    from certificates.services import certificate_batch_run

    batch = CertificateBatch.objects.filter(pk=batch_id).first()
    if batch is None or batch.status == CertificateBatch.Status.DONE:
        return 0
    return certificate_batch_run(batch=batch).done


@shared_task(bind=True, max_retries=8)
def email_certificate(self, certificate_id: int) -> bool:
    """Send the certificate once: claim it, send, and record it as sent in one transaction.

    The row stays locked while the message is sent, and `emailed_at` commits only after
    the SMTP server has accepted it: a worker killed mid-send leaves the certificate unsent
    (its lock and claim go with its connection), for the redelivered message or the sweep.
    """
    from certificates.emails import certificate_message
    from certificates.models import Certificate

    with transaction.atomic():
        certificate = (
            Certificate.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("participant", "cohort")
            .filter(
                pk=certificate_id,
                emailed_at__isnull=True,
                status=Certificate.Status.ISSUED,
                participant__email__isnull=False,
            )
            .first()
        )
        if certificate is None:
            return False  # already sent, being sent, revoked, or nobody to send it to
        try:
            certificate_message(certificate).send()
        except TRANSIENT as exc:
            raise self.retry(exc=exc, countdown=min(60 * 2**self.request.retries, 3600)) from exc
        Certificate.objects.filter(pk=certificate_id).update(emailed_at=timezone.now())
    return True


@shared_task
def sweep_certificates() -> dict:
    """Reconcile: issue every certificate that is due and missing; e-mail those not sent.

    A lost queue message (a Redis restart, a killed worker) only delays a certificate.
    """
    from certificates.models import Certificate, CertificateBatch
    from certificates.selectors import certificates_due
    from cohorts.models import Cohort

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
        email_certificate.delay(certificate_id)
    return {"issued": len(due), "emails": len(unsent)}


NOTICE_BATCH = 100


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, retry_backoff_max=15 * 60, max_retries=10)
def send_notices(notices: list[list]) -> dict:
    """Send a batch of notices ([kind, session_id, participant_id, key] each) once."""
    from cohorts.notifications import Due, notices_send

    result = notices_send([Due(*notice) for notice in notices])
    return {"sent": result.sent, "already": result.already, "failed": result.failed}


@shared_task
def sweep_notices(session_ids: list[int] | None = None) -> dict:
    """Reconcile: queue every reminder, change or cancellation notice due and not sent."""
    from cohorts.notifications import notices_due

    due = notices_due(session_ids=session_ids)
    payload = [[n.kind, n.session_id, n.participant_id, n.key] for n in due.notices]
    for start in range(0, len(payload), NOTICE_BATCH):
        send_notices.delay(payload[start : start + NOTICE_BATCH])
    return {"due": len(payload), **due.skipped}


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=10)
def notify_alert(alert_id: int) -> bool:
    from certificates.alerts import alert_notify

    return alert_notify(alert_id)


@shared_task
def sweep_alerts(cohort_ids: list[int] | None = None) -> dict:
    """Raise and close low-attendance alerts; tell people of the new ones (and of any a
    lost message left untold)."""
    from certificates.alerts import alerts_sweep
    from certificates.models import AttendanceAlert

    result = alerts_sweep(cohort_ids=cohort_ids)
    untold = AttendanceAlert.objects.filter(notified_at__isnull=True, cleared_at__isnull=True)
    for alert_id in untold.values_list("pk", flat=True):
        notify_alert.delay(alert_id)
    return {"raised": len(result.raised), "cleared": result.cleared}


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=10)
def send_digests() -> int:
    from certificates.alerts import digests_send

    return digests_send()


@shared_task(bind=True, max_retries=8)
def send_account_email(self, account_email_id: int) -> bool:
    """Send one account invitation or password-reset e-mail, once (see cohorts.invitations)."""
    from cohorts.invitations import account_email_send

    try:
        return account_email_send(account_email_id)
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=min(60 * 2**self.request.retries, 3600)) from exc


@shared_task
def sweep_account_emails() -> dict:
    """Reconcile: queue again the invitations and reset e-mails whose message was lost."""
    from cohorts.invitations import account_emails_waiting

    waiting = account_emails_waiting()
    for pk in waiting:
        send_account_email.delay(pk)
    return {"queued": len(waiting)}
