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

import importlib
import smtplib
import threading
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


_loading = threading.Lock()


def task(task_name: str):
    """The registered task called `task_name`, its module imported on first use.

    A task's name is its module's path and its function's name: importing that module
    registers it. Under a lock, because requests on several threads may be the first to
    queue it at the same moment.
    """
    if task_name not in current_app.tasks:
        with _loading:
            importlib.import_module(task_name.rsplit(".", 1)[0])
    return current_app.tasks[task_name]
