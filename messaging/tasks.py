"""Messaging tasks: the outbox's sender and sweep, and the sweeps that put messages in it.

Every message goes out through `deliver` (messaging.outbox). The other tasks only decide
what is due and put it in the outbox, which is safe to run twice or to lose: the sweeps
re-derive what is due from the database, and the outbox keeps one row per message.
"""

import datetime

from celery import shared_task

from certificates.models import AttendanceAlert, Certificate
from certificates.services import certificate_emails_put
from cohorts.models import Notification
from cohorts.queue import enqueue_now
from messaging import outbox
from messaging.alerts import alert_notify, alerts_sweep, digests_send
from messaging.monthly_report import monthly_reports_put, report_month
from messaging.notices import Due, notices_due, notices_put
from messaging.sender_lock import single_sender


@shared_task
def deliver() -> dict:
    """Send what the outbox has due, if no other sender is at it (messaging.sender_lock:
    the one running sends what was just put too, as it goes on until nothing is due).
    Wake another run if something is still due (time ran out, or it came in at the end)."""
    with single_sender() as mine:
        if not mine:
            return {"busy": True}
        result = outbox.deliver()
    if outbox.due().exists():
        enqueue_now("messaging.tasks.deliver")
    return result.as_dict()


@shared_task
def sweep_outbox() -> dict:
    """Every minute: wake a sender if anything is due (a wake-up lost with Redis' data, a
    sender's lease run out, a retry's time come). One query on the unsent rows' index."""
    due = outbox.due().count()
    if due:
        enqueue_now("messaging.tasks.deliver")
    failed = Notification.objects.filter(status=Notification.Status.FAILED).count()
    return {"due": due, "failed": failed}


@shared_task
def sweep_notices(session_ids: list[int] | None = None) -> dict:
    """Put in the outbox every reminder, change or cancellation notice due and not there."""
    due = notices_due(session_ids=session_ids)
    notices_put(due.notices)
    return {"due": len(due.notices), **due.skipped}


@shared_task
def sweep_alerts(cohort_ids: list[int] | None = None) -> dict:
    """Raise and close low-attendance alerts (their messages go in the outbox with them)."""
    result = alerts_sweep(cohort_ids=cohort_ids)
    # Alerts raised before the outbox existed, never told: put their messages there.
    untold = AttendanceAlert.objects.filter(notified_at__isnull=True, cleared_at__isnull=True)
    for alert_id in untold.values_list("pk", flat=True):
        alert_notify(alert_id)
    return {"raised": len(result.raised), "cleared": result.cleared}


@shared_task
def send_digests() -> int:
    """Monday morning: each manager's digest, into the outbox."""
    return digests_send()


@shared_task
def send_monthly_reports(month: str | None = None) -> dict:
    """The 1st of the month: the report for the month before to each funder contact, into
    the outbox (once per contact and month). `month` ("2026-11") puts that month's instead."""
    start = datetime.date.fromisoformat(f"{month}-01") if month else report_month()
    return {"month": f"{start:%Y-%m}", "put": monthly_reports_put(month=start)}


@shared_task
def sweep_certificate_emails() -> int:
    """Certificates issued without their e-mail in the outbox (before it existed): put it."""
    unsent = Certificate.objects.filter(
        emailed_at__isnull=True, status=Certificate.Status.ISSUED, participant__email__isnull=False
    ).exclude(pk__in=Notification.objects.filter(kind=Notification.Kind.CERTIFICATE).values("ref"))
    return certificate_emails_put(list(unsent.select_related("participant")))


# Names queued by releases before the outbox; each now puts its message there. ----------


@shared_task
def email_certificate(certificate_id: int) -> bool:
    certificates = Certificate.objects.filter(
        pk=certificate_id, status=Certificate.Status.ISSUED
    ).select_related("participant")
    return certificate_emails_put(list(certificates)) > 0


@shared_task
def send_notices(notices: list[list]) -> dict:
    return {"put": notices_put([Due(*notice) for notice in notices])}


@shared_task
def notify_alert(alert_id: int) -> bool:
    return alert_notify(alert_id)
