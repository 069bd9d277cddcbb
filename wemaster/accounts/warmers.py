"""Cache warmers of the accounts app (discovered by `manage.py warm_cache` and the beat task)."""

from django.conf import settings

from wemaster.accounts import selectors


def warm_tutor_directory() -> int:
    """First directory page (default page size and ordering) unfiltered and for the subjects
    with the most bookable tutors (`TUTOR_DIRECTORY_WARM_SUBJECTS`)."""
    from wemaster.accounts.api.directory import first_page, subject_catalog

    page_size = settings.REST_FRAMEWORK["PAGE_SIZE"]
    subject_catalog()  # the directory's `?subject=` is checked against it
    subject_ids = (
        selectors.subject_list()
        .filter(tutor_count__gt=0)
        .order_by("-tutor_count", "name")
        .values_list("id", flat=True)[: settings.TUTOR_DIRECTORY_WARM_SUBJECTS]
    )
    warmed = 0
    for subject_id in [None, *subject_ids]:
        first_page(subject_id=subject_id, language=None, ordering="newest", page_size=page_size)
        warmed += 1
    return warmed


def warm_subjects() -> int:
    """The subject list's first page (default page size)."""
    from wemaster.accounts.api.directory import subjects_first_page

    subjects_first_page(page_size=settings.REST_FRAMEWORK["PAGE_SIZE"])
    return 1


WARMERS = {"tutor_directory": warm_tutor_directory, "subjects": warm_subjects}
