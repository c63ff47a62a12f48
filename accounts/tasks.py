"""Account e-mail tasks: send one invitation or reset e-mail, and the sweep for lost ones."""

from celery import shared_task

from accounts.invitations import account_email_send, account_emails_waiting
from cohorts.queue import TRANSIENT


@shared_task(bind=True, max_retries=8)
def send_account_email(self, account_email_id: int) -> bool:
    """Send one account invitation or password-reset e-mail, once (see accounts.invitations)."""
    try:
        return account_email_send(account_email_id)
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=min(60 * 2**self.request.retries, 3600)) from exc


@shared_task
def sweep_account_emails() -> dict:
    """Reconcile: queue again the invitations and reset e-mails whose message was lost."""
    waiting = account_emails_waiting()
    for pk in waiting:
        send_account_email.delay(pk)
    return {"queued": len(waiting)}
