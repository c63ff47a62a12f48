"""Queue a background task once the current transaction commits, naming it by its name.

Domain services start background work through this function rather than by importing a
task module: `tasks.py` imports the services it runs, and a service of a lower room must
not import a higher one (`messaging.tasks` sits above `cohorts`). The name is the task's
registered name, `<app>.tasks.<function>`; `tests/test_architecture.py` checks that every
name queued here is registered.

Queuing after commit (never inside a transaction that may roll back) means the worker
always finds the rows it is told about; with no broker configured (`CELERY_TASK_ALWAYS_EAGER`)
the task runs inline, right after the commit.
"""

import smtplib
from functools import partial

from celery import current_app
from django.db import OperationalError, transaction

# Errors that pass: an SMTP server or a database briefly away. Tasks retry these with backoff.
TRANSIENT = (smtplib.SMTPException, ConnectionError, TimeoutError, OperationalError)


def enqueue_on_commit(task_name: str, *args, **kwargs) -> None:
    """Send `task_name(*args, **kwargs)` to the queue after the transaction commits."""
    transaction.on_commit(partial(enqueue_now, task_name, *args, **kwargs))


def enqueue_now(task_name: str, *args, **kwargs) -> None:
    """Send `task_name(*args, **kwargs)` to the queue at once (from a task or a sweep)."""
    task(task_name).delay(*args, **kwargs)


def task(task_name: str):
    """The registered task called `task_name` (task modules load on first use)."""
    if task_name not in current_app.tasks:
        # Celery's autodiscovery imports every app's tasks.py the first time it is asked.
        current_app.loader.import_default_modules()
    return current_app.tasks[task_name]
