"""The tutor directory and the subject list: keyset pages, first pages through the cache API.

Only first pages (no `?cursor=`) are cached: they are what almost every visitor asks for.
Directory first pages are cached per subject, language, ordering and page size, each a value
from a closed set (catalog subjects, ISO 639-1 codes, four orderings, 1..100), so a client cannot
mint cache keys; a rate range is computed each time. A cached value holds no host or URL, only
the serialized rows and the next page's cursor token, so one entry serves every host and the
warmer can build it without a request. Every entry carries `TUTOR_DIRECTORY_TAG`, which each
profile change bumps on commit (`services.tutor_directory_changed`). When PostgreSQL is down the
last good page is served (`stale_if_error`), marked `Cache-Status: stale-if-error`.
"""

from decimal import Decimal

from django.conf import settings

from wemaster.accounts import selectors
from wemaster.accounts.api.serializers import SubjectSerializer, TutorSerializer
from wemaster.accounts.services import SUBJECT_CATALOG_TAG, TUTOR_DIRECTORY_TAG
from wemaster.core.cache import get_or_compute
from wemaster.core.pagination import KeysetPagination

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
