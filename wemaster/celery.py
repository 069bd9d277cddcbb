"""Celery app: configuration from Django settings under the CELERY_ namespace."""

import os

from celery import Celery
from celery.contrib.django.task import DjangoTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wemaster.settings")


class PrimaryReadsTask(DjangoTask):
    """Every task reads the primary (docs/ARCHITECTURE.md, Read replicas), also when it runs inline inside an API
    read that may use replicas; a read that tolerates a replica says so with `replica_safe()`.
    Celery's Django task class underneath (`delay_on_commit`)."""

    def __call__(self, *args, **kwargs):
        from wemaster.core.db_router import routing_scope  # Django is not set up at import time

        with routing_scope():
            return super().__call__(*args, **kwargs)


app = Celery("wemaster", task_cls=PrimaryReadsTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
