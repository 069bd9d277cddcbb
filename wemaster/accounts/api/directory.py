"""The tutor directory's first page per subject, served through the cache API.

Only the first page (no `?cursor=`) is cached: it is what almost every visitor asks
for. The cached value holds no host or URL, only the serialized rows and the id the
next page starts after, so the same entry serves every host and the warmer can build
it without a request. When PostgreSQL is down the last good page is served
(`stale_if_error`), marked `Cache-Status: stale-if-error`.

`?subject=` is client input: checked before any lookup (`query_text`: length, printable),
hashed into the key, and every page but the default one is capped per family; a subject
no tutor teaches gives an empty page that is not stored (wemaster/core/cache/keys.py).
"""

from django.conf import settings

from wemaster.accounts import selectors
from wemaster.accounts.api.serializers import TutorSerializer
from wemaster.accounts.models import Subject
from wemaster.accounts.services import TUTOR_DIRECTORY_TAG
from wemaster.core.cache import get_or_compute
from wemaster.core.cache.keys import params_key, query_text

FAMILY = "tutor_directory"


def normalize_subject(subject: str | None) -> str:
    """The subject filter, lowercase; a 400 `validation_error` when it is too long or not printable."""
    return query_text("subject", subject, max_length=Subject._meta.get_field("name").max_length).lower()


def _build_first_page(*, subject: str, page_size: int) -> dict:
    rows = list(selectors.tutor_list(subject=subject or None).order_by("-id")[: page_size + 1])
    has_next = len(rows) > page_size
    rows = rows[:page_size]
    return {
        "results": TutorSerializer(rows, many=True).data,
        "next_after": str(rows[-1].id) if has_next else None,
    }


def first_page(*, subject: str | None, page_size: int) -> dict:
    """`{"results": [...], "next_after": "<id>" | None}` for the directory filtered by
    `subject` (normalized), newest tutors first."""
    subject = normalize_subject(subject)
    default_page = not subject and page_size == settings.REST_FRAMEWORK["PAGE_SIZE"]
    return get_or_compute(
        params_key(FAMILY, subject=subject, page_size=page_size),
        lambda: _build_first_page(subject=subject, page_size=page_size),
        tags=[TUTOR_DIRECTORY_TAG],
        ttl=settings.TUTOR_DIRECTORY_TTL,
        family=FAMILY,
        local=True,
        stale_if_error=True,
        distinct_keys=None if default_page else settings.CACHE_PARAM_KEYS_PER_FAMILY,
        store_if=(lambda page: bool(page["results"])) if subject else None,
    )
