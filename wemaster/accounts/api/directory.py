"""The tutor directory and the subject list: keyset pages, first pages through the cache API.

Only first pages (no `?cursor=`) are cached: they are what almost every visitor asks for.
Directory first pages are cached per subject, language, ordering and page size, each a value
from a closed set (catalog subjects, ISO 639-1 codes, four orderings, 1..100), so a client cannot
mint cache keys; a rate range is computed each time. A cached value holds no host or URL, only
the serialized rows and the next page's cursor token, so one entry serves every host and the
warmer can build it without a request. Every entry carries `TUTOR_DIRECTORY_TAG`, which each
profile change bumps on commit (`services.tutor_directory_changed`). When PostgreSQL is down the
last good page is served (`stale_if_error`), marked `Cache-Status: stale-if-error`.

A free-time filter (`free_from`, `free_to`, `duration`) is never cached: its range is request
input. Its pages come from a bounded walk of the directory in its order (`free_time_page`).
"""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from wemaster.accounts import selectors
from wemaster.accounts.api.serializers import SubjectSerializer, TutorSerializer
from wemaster.accounts.services import SUBJECT_CATALOG_TAG, TUTOR_DIRECTORY_TAG
from wemaster.core.cache import get_or_compute
from wemaster.core.pagination import KeysetPagination, envelope
from wemaster.scheduling import selectors as scheduling

FAMILY = "tutor_directory"


class TutorNewestPagination(KeysetPagination):
    ordering = ("-pk",)


class TutorCheapestPagination(KeysetPagination):
    ordering = ("hourly_rate", "pk")


class TutorPriciestPagination(KeysetPagination):
    ordering = ("-hourly_rate", "-pk")


class TutorBestRatedPagination(KeysetPagination):
    """Best mean review first; tutors without reviews (rating 0) last."""

    ordering = ("-rating", "-pk")

    @staticmethod
    def parse_key(raw: str):
        value = Decimal(raw)
        if not value.is_finite():
            raise ValueError("rating must be finite")
        return value

    @staticmethod
    def format_key(value) -> str:
        return str(value)


class SubjectPagination(KeysetPagination):
    """Alphabetical."""

    ordering = ("name", "pk")

    @staticmethod
    def parse_key(raw: str):
        return raw

    @staticmethod
    def format_key(value) -> str:
        return value


DIRECTORY_ORDERINGS = {
    "newest": TutorNewestPagination,
    "price": TutorCheapestPagination,
    "-price": TutorPriciestPagination,
    "rating": TutorBestRatedPagination,
}


def subject_catalog() -> dict[str, int]:
    """Catalog subject ids by name, cached until the catalog changes."""
    return get_or_compute(
        "subject_catalog",
        selectors.subject_catalog,
        tags=[SUBJECT_CATALOG_TAG],
        ttl=settings.TUTOR_DIRECTORY_TTL,
        local=True,
        stale_if_error=True,
    )


def first_page(*, subject_id: int | None, language: str | None, ordering: str, page_size: int) -> dict:
    """`{"results": [...], "next": <cursor token> | None}`: the directory's first page.
    Precondition: `subject_id` is a catalog subject's, `language` a normalized ISO 639-1 code."""
    return get_or_compute(
        f"{FAMILY}:{subject_id or '*'}:{language or '*'}:{ordering}:{page_size}",
        lambda: DIRECTORY_ORDERINGS[ordering]().first_page_data(
            selectors.tutor_directory(subject_id=subject_id, language=language),
            page_size=page_size,
            serializer_class=TutorSerializer,
        ),
        tags=[TUTOR_DIRECTORY_TAG],
        ttl=settings.TUTOR_DIRECTORY_TTL,
        family=FAMILY,
        local=True,
        stale_if_error=True,
    )


def subjects_first_page(*, page_size: int) -> dict:
    """The subject list's first page with tutor counts, cached until a profile or the catalog changes."""
    return get_or_compute(
        f"subjects:{page_size}",
        lambda: SubjectPagination().first_page_data(
            selectors.subject_list(), page_size=page_size, serializer_class=SubjectSerializer
        ),
        tags=[TUTOR_DIRECTORY_TAG, SUBJECT_CATALOG_TAG],
        ttl=settings.TUTOR_DIRECTORY_TTL,
        family="subjects",
        local=True,
        stale_if_error=True,
    )


def free_time_page(
    request, *, tutors: QuerySet, ordering: str, start: datetime, end: datetime, duration_minutes: int
) -> dict:
    """The envelope of a directory page holding only the `tutors` with a bookable slot of
    `duration_minutes` in [start, end). Candidates are read in the directory's order,
    DIRECTORY_FREE_TIME_BATCH at a time, each batch's slots computed in one query, and the walk
    stops at a full page or after DIRECTORY_FREE_TIME_SCAN candidates (the page's `next`
    continues from there). The rows are then loaded as the plain directory loads them: at most
    two statements per batch plus two for the page, whatever the number of tutors."""
    paginator = DIRECTORY_ORDERINGS[ordering]()
    now = timezone.now()
    key = paginator.ordering[0].lstrip("-")
    candidates = tutors.filter(scheduling.may_be_free(start=start, end=end)).select_related(None)
    candidates = candidates.prefetch_related(None).only("user_id", *({key} - {"pk"}))
    page = paginator.scan_page(
        candidates,
        cursor=paginator.cursor(request),
        page_size=paginator.get_page_size(request),
        keep=lambda batch: scheduling.free_tutor_ids(
            tutor_ids=[row.pk for row in batch], start=start, end=end, duration_minutes=duration_minutes, now=now
        ),
        batch_size=settings.DIRECTORY_FREE_TIME_BATCH,
        scan_limit=settings.DIRECTORY_FREE_TIME_SCAN,
    )
    order = [row.pk for row in page.rows]
    loaded = {profile.pk: profile for profile in tutors.filter(pk__in=order)} if order else {}
    return envelope(
        TutorSerializer([loaded[pk] for pk in order if pk in loaded], many=True).data,
        next_url=paginator.link(request, page.next),
        previous_url=paginator.link(request, page.previous),
    )
