from celery import shared_task

from wemaster.lessons import services


@shared_task(name="wemaster.lessons.tasks.lessons_auto_complete")
def lessons_auto_complete() -> int:
    return services.lessons_auto_complete()
