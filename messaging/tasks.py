"""Messaging tasks: session notices, low-attendance alerts, digests, certificate e-mails.

Each takes ids, loads the rows and calls one service; each is safe to run twice or to lose
(the sweeps re-derive what is due from the database).
"""

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from certificates.models import AttendanceAlert, Certificate
from cohorts.queue import TRANSIENT
from messaging.alerts import alert_notify, alerts_sweep, digests_send
from messaging.certificate_email import certificate_message
from messaging.notices import Due, notices_due, notices_send

NOTICE_BATCH = 100


@shared_task(bind=True, max_retries=8)
def email_certificate(self, certificate_id: int) -> bool:
    """Send the certificate once: claim it, send, and record it as sent in one transaction.

    The row stays locked while the message is sent, and `emailed_at` commits only after
    the SMTP server has accepted it: a worker killed mid-send leaves the certificate unsent
    (its lock and claim go with its connection), for the redelivered message or the sweep.
    """
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


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, retry_backoff_max=15 * 60, max_retries=10)
def send_notices(notices: list[list]) -> dict:
    """Send a batch of notices ([kind, session_id, participant_id, key] each) once."""
    result = notices_send([Due(*notice) for notice in notices])
    return {"sent": result.sent, "already": result.already, "failed": result.failed}


@shared_task
def sweep_notices(session_ids: list[int] | None = None) -> dict:
    """Reconcile: queue every reminder, change or cancellation notice due and not sent."""
    due = notices_due(session_ids=session_ids)
    payload = [[n.kind, n.session_id, n.participant_id, n.key] for n in due.notices]
    for start in range(0, len(payload), NOTICE_BATCH):
        send_notices.delay(payload[start : start + NOTICE_BATCH])
    return {"due": len(payload), **due.skipped}


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=10)
def notify_alert(alert_id: int) -> bool:
    return alert_notify(alert_id)


@shared_task
def sweep_alerts(cohort_ids: list[int] | None = None) -> dict:
    """Raise and close low-attendance alerts; tell people of the new ones (and of any a
    lost message left untold)."""
    result = alerts_sweep(cohort_ids=cohort_ids)
    untold = AttendanceAlert.objects.filter(notified_at__isnull=True, cleared_at__isnull=True)
    for alert_id in untold.values_list("pk", flat=True):
        notify_alert.delay(alert_id)
    return {"raised": len(result.raised), "cleared": result.cleared}


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=10)
def send_digests() -> int:
    return digests_send()
