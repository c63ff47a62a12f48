"""The Celery app (after cookiecutter-django's config/celery_app.py).

Settings come from Django's, under the CELERY_ namespace. Without REDIS_URL the tasks
run inline (CELERY_TASK_ALWAYS_EAGER), so the app works with no broker at all.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cycle2021.settings")

app = Celery("cycle2021")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    task_time_limit=10 * 60,
    task_soft_time_limit=9 * 60,
    broker_connection_retry_on_startup=True,
)
app.autodiscover_tasks()
