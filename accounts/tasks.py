"""Account e-mail tasks. The e-mails themselves go through the outbox (messaging.outbox);
these put back in it the ones requested before it existed, and accept old queued names."""

from celery import shared_task

from accounts import retention
from accounts.invitations import account_emails_put, account_emails_waiting


@shared_task
def send_account_email(account_email_id: int) -> bool:
    """An account e-mail queued by a release before the outbox: put it there (once)."""
    return account_emails_put([account_email_id]) > 0


@shared_task
def sweep_account_emails() -> dict:
    """Reconcile: put in the outbox the invitations and resets that are not there."""
    waiting = account_emails_waiting()
    account_emails_put(waiting)
    return {"queued": len(waiting)}


@shared_task
def apply_retention() -> dict:
    """Anonymise everyone past the retention period (the beat runs it monthly); once each."""
    result = retention.apply_retention()
    return {"due": result.due, "anonymised": result.anonymised}
