"""Cache warmers discovered by `manage.py warm_cache` (wemaster.core.cache)."""

from community.api import pages
from community.api.pagination import POST_ORDERINGS


def warm_front_page() -> None:
    """The unfiltered first page of the posts list, in every ordering."""
    for ordering in POST_ORDERINGS:
        pages.post_page(ordering=ordering)


def warm_tags() -> None:
    pages.tag_page()


WARMERS = {"community_front_page": warm_front_page, "community_tags": warm_tags}
