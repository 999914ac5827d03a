"""The Celery application.

Without ``REDIS_URL`` tasks run eagerly in-process (the embedded default); with it they go through Redis
to workers consuming the ``default``, ``ml`` and ``gpu`` queues.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings")

app = Celery("ecomops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
