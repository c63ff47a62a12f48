"""The tasks' names before they moved to their apps (`<app>.tasks`), kept for one upgrade.

A message queued under an old name by a release before the move is still accepted: each
alias hands its arguments to the task under its new name and returns. Once no message with
an old name can be left in Redis (after one full deployment), this module can go.
"""

from celery import shared_task

from cohorts.queue import enqueue_now

# Old name (worker.tasks.<key>) -> new name.
RENAMED = {
    "issue_certificate": "certificates.tasks.issue_certificate",
    "issue_cohort_certificates": "certificates.tasks.issue_cohort_certificates",
    "sweep_certificates": "certificates.tasks.sweep_certificates",
    "email_certificate": "messaging.tasks.email_certificate",
    "send_notices": "messaging.tasks.send_notices",
    "sweep_notices": "messaging.tasks.sweep_notices",
    "notify_alert": "messaging.tasks.notify_alert",
    "sweep_alerts": "messaging.tasks.sweep_alerts",
    "send_digests": "messaging.tasks.send_digests",
    "send_account_email": "accounts.tasks.send_account_email",
    "sweep_account_emails": "accounts.tasks.sweep_account_emails",
}


def _alias(old: str, new: str):
    def forward(*args, **kwargs) -> str:
        enqueue_now(new, *args, **kwargs)
        return new

    forward.__name__ = forward.__qualname__ = old
    forward.__doc__ = f"Old name of {new}: queue it under its new name."
    return shared_task(name=f"worker.tasks.{old}")(forward)


ALIASES = {old: _alias(old, new) for old, new in RENAMED.items()}
