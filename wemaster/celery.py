"""Celery app: configuration from Django settings under the CELERY_ namespace."""

import os

from celery import Celery, bootsteps
from celery.contrib.django.task import DjangoTask
from celery.signals import after_task_publish, before_task_publish, setup_logging
from django_structlog.celery.receivers import CeleryReceiver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wemaster.settings")


class PrimaryReadsTask(DjangoTask):
    """Every task reads the primary (docs/ARCHITECTURE.md, Read replicas), also when it runs inline inside an API
    read that may use replicas; a read that tolerates a replica says so with `replica_safe()`.
    Celery's Django task class underneath (`delay_on_commit`)."""

    def __call__(self, *args, **kwargs):
        from wemaster.core.db_router import routing_scope  # Django is not set up at import time

        with routing_scope():
            return super().__call__(*args, **kwargs)


class TaskLogStep(bootsteps.Step):
    """Workers log each task's start, end or failure with the ids of the request that enqueued it
    (django-structlog's worker receivers). The publishing side, which puts those ids into the
    task's headers, is connected in every process by django-structlog's app
    (DJANGO_STRUCTLOG_CELERY_ENABLED): connected twice, a worker would log each enqueue twice.
    One receiver per process, however many workers it starts (a test starts several): each
    worker's own would log every task once more."""

    receiver: CeleryReceiver | None = None

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        if TaskLogStep.receiver is None:
            receiver = CeleryReceiver()
            receiver.connect_worker_signals()
            before_task_publish.disconnect(receiver.receiver_before_task_publish)
            after_task_publish.disconnect(receiver.receiver_after_task_publish)
            TaskLogStep.receiver = receiver


app = Celery("wemaster", task_cls=PrimaryReadsTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["worker"].add(TaskLogStep)


@setup_logging.connect
def use_django_logging(**kwargs):
    """Workers and beat write the project's structured lines (settings.LOGGING), not Celery's own
    format: connecting this signal stops Celery from configuring logging itself."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
