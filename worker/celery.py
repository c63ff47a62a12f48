"""The Celery app (after cookiecutter-django's config/celery_app.py).

Settings come from Django's, under the CELERY_ namespace. Without REDIS_URL the tasks
run inline (CELERY_TASK_ALWAYS_EAGER), so the app works with no broker at all.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cycle2021.settings")

app = Celery("cycle2021")
# The settings are read once Django is set up (config_from_object is lazy): the beat's
# periods need the value now.
SWEEP_SECONDS = int(os.environ.get("SWEEP_SECONDS", "60"))
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    task_time_limit=10 * 60,
    task_soft_time_limit=9 * 60,
    broker_connection_retry_on_startup=True,
    # A task is acknowledged when it finishes, and handed back if its worker dies, so a
    # killed worker loses nothing; every task is idempotent, so a redelivery is harmless.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    # How long Redis waits before handing an unacknowledged task to another worker.
    broker_transport_options={"visibility_timeout": 15 * 60},
    beat_schedule={
        # The outbox: wake a sender when anything is due (a lost wake-up, a lease run out,
        # a retry's time come). One indexed query; every minute so recovery takes minutes.
        "sweep-outbox": {"task": "messaging.tasks.sweep_outbox", "schedule": SWEEP_SECONDS},
        # Certificate batches whose run went silent (a killed worker, Redis' data lost).
        "sweep-certificate-batches": {
            "task": "certificates.tasks.sweep_certificate_batches",
            "schedule": SWEEP_SECONDS,
        },
        "sweep-certificates": {
            "task": "certificates.tasks.sweep_certificates",
            "schedule": 60 * 60,
        },
        "sweep-certificate-emails": {
            "task": "messaging.tasks.sweep_certificate_emails",
            "schedule": 60 * 60,
        },
        # Reminders are due at the minute; a sweep every five minutes puts them in time.
        "sweep-notices": {"task": "messaging.tasks.sweep_notices", "schedule": 5 * 60},
        "sweep-alerts": {"task": "messaging.tasks.sweep_alerts", "schedule": 60 * 60},
        # Invitations and password resets requested before the outbox existed.
        "sweep-account-emails": {
            "task": "accounts.tasks.sweep_account_emails",
            "schedule": 10 * 60,
        },
        # Files of certificates whose transaction rolled back (a killed worker): daily.
        "clean-orphan-certificate-files": {
            "task": "certificates.tasks.clean_orphan_files",
            "schedule": crontab(hour=3, minute=30),
        },
        # Monday 07:00, local time: the week's digest for each manager (once per week).
        "manager-digests": {
            "task": "messaging.tasks.send_digests",
            "schedule": crontab(hour=7, minute=0, day_of_week="mon"),
        },
        # The 1st of each month, 07:00 local time: the report for the month before to each
        # funder contact (once per contact and month).
        "funder-monthly-reports": {
            "task": "messaging.tasks.send_monthly_reports",
            "schedule": crontab(day_of_month=1, hour=7, minute=0),
        },
        # The 2nd of each month, 04:00 local time: anonymise the people past the retention
        # period (RETENTION_YEARS after their last cohort ended); once each.
        "apply-retention": {
            "task": "accounts.tasks.apply_retention",
            "schedule": crontab(day_of_month=2, hour=4, minute=0),
        },
    },
)
app.autodiscover_tasks()

# The task that sends e-mail goes to a queue of its own beside the default one
# ("celery.email" next to "celery"), so that a long run of other work (a batch of
# certificates rendering their PDFs) never delays a password reset someone is waiting for
# (the outbox also sends those first). `make worker` consumes both.
EMAIL_TASKS = frozenset({"messaging.tasks.deliver"})


def email_queue() -> str:
    return f"{app.conf.task_default_queue}.email"


def route_task(name, args, kwargs, options, task=None, **kw):
    if name in EMAIL_TASKS:
        return {"queue": email_queue()}
    return None


app.conf.task_routes = (route_task,)
