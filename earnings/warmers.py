"""Cache warmers discovered by `manage.py warm_cache` (wemaster.core.cache)."""

from earnings.selectors import active_tutor_ids, earnings_overview


def warm_overviews() -> int:
    """Compute the overview of every tutor who earned recently. Returns how many."""
    tutor_ids = active_tutor_ids()
    for tutor_id in tutor_ids:
        earnings_overview(tutor_id=tutor_id)
    return len(tutor_ids)


WARMERS = {"earnings_overview": warm_overviews}
