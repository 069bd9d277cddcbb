"""Cache warmers of the accounts app (discovered by `manage.py warm_cache` and the beat task)."""

from django.conf import settings
from django.db.models import Count

from wemaster.accounts.models import Subject


def warm_tutor_directory() -> int:
    """First directory page (default page size) unfiltered and for the subjects with the
    most tutors (`TUTOR_DIRECTORY_WARM_SUBJECTS`)."""
    from wemaster.accounts.api.directory import first_page

    page_size = settings.REST_FRAMEWORK["PAGE_SIZE"]
    subjects = (
        Subject.objects.annotate(tutor_count=Count("tutors"))
        .filter(tutor_count__gt=0)
        .order_by("-tutor_count", "name")
        .values_list("name", flat=True)[: settings.TUTOR_DIRECTORY_WARM_SUBJECTS]
    )
    warmed = 0
    for subject in [None, *subjects]:
        first_page(subject=subject, page_size=page_size)
        warmed += 1
    return warmed


WARMERS = {"tutor_directory": warm_tutor_directory}
