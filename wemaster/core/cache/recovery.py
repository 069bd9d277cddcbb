"""What runs once Redis answers again after writes were lost during an outage."""

import logging

from django.conf import settings

from wemaster.core.cache import tags

logger = logging.getLogger(__name__)


def forget_everything_cached_before_the_outage() -> None:
    """Bump the global epoch (every cache API entry becomes a miss) and invalidate every
    cachalot-cached table: invalidations made during the outage never reached Redis."""
    from cachalot.api import invalidate

    tags.bump_epoch()
    if settings.CACHALOT_ENABLED:
        invalidate(*settings.CACHALOT_ONLY_CACHABLE_TABLES, cache_alias="default")
    logger.warning("redis back: cache epoch bumped, cachalot invalidated")
