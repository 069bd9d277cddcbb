"""System checks of the business settings (`manage.py check`, and before `migrate` and
`runserver`, so before `make serve` starts anything): a commission tier, limit or window a
business person set wrongly stops the command with a message naming the setting, instead of
charging the wrong commission or refusing every booking later.

Error ids: wemaster.E001-E004 commission tiers, E010-E013 limits, E020-E023 windows.
"""

from django.conf import settings
from django.core import checks

# (minimum, maximum): both positive, the minimum at most the maximum.
LIMIT_RANGES = (
    ("MIN_HOURLY_RATE_MINOR", "MAX_HOURLY_RATE_MINOR"),
    ("WALLET_TOP_UP_MIN_MINOR", "WALLET_TOP_UP_MAX_MINOR"),
    ("LESSONS_MIN_DURATION_MINUTES", "LESSONS_MAX_DURATION_MINUTES"),
)
# Counts and amounts that must be positive.
POSITIVE_LIMITS = (
    "TUTOR_MAX_SUBJECTS",
    "TUTOR_MAX_LANGUAGES",
    "LESSONS_DURATION_STEP_MINUTES",
    "EARNINGS_MIN_PAYOUT_MINOR",
    "WALLET_MAX_PAYMENT_METHODS",
    "WALLET_AUTO_RELOAD_DEFAULT_AMOUNT_MINOR",
    "MESSAGING_MAX_BODY_CHARS",
    "MESSAGING_MAX_GROUP_MEMBERS",
    "COMMUNITY_MAX_TAGS_PER_POST",
)
# Windows and delays: zero is allowed (no window), a negative one is not.
WINDOWS = (
    "LESSONS_FREE_CANCELLATION_HOURS",
    "LESSONS_PROBLEM_REPORT_WINDOW_HOURS",
    "LESSONS_AUTO_COMPLETE_AFTER_HOURS",
    "EARNINGS_CLEARANCE_DAYS",
    "PAYMENTS_RECOVERY_AFTER_SECONDS",
    "PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS",
    "EARNINGS_PAYOUT_RETRY_BACKOFF_SECONDS",
    "EARNINGS_PAYOUT_RETRY_BACKOFF_MAX_SECONDS",
)
TIERS_HINT = 'Set EARNINGS_COMMISSION_TIERS to "hours:percent" pairs by rising hours from 0, e.g. 0:25,20:20,100:15.'


def _error(message: str, number: int, hint: str | None = None) -> checks.Error:
    return checks.Error(message, hint=hint, id=f"wemaster.E{number:03d}")


@checks.register()
def commission_tiers(app_configs, **kwargs) -> list[checks.Error]:
    """A tier list the commission code can read: pairs of whole numbers, the first at 0 hours,
    thresholds rising without repeats, each percent between 0 and 100."""
    tiers = settings.EARNINGS_COMMISSION_TIERS
    if not tiers or not all(
        isinstance(tier, list | tuple) and len(tier) == 2 and all(isinstance(value, int) for value in tier)
        for tier in tiers
    ):
        return [_error(f"EARNINGS_COMMISSION_TIERS must be (hours, percent) pairs, not {tiers!r}.", 1, TIERS_HINT)]
    errors = []
    hours = [tier[0] for tier in tiers]
    if len(set(hours)) != len(hours):
        repeated = sorted({value for value in hours if hours.count(value) > 1})
        errors.append(_error(f"EARNINGS_COMMISSION_TIERS repeats the threshold(s) {repeated} hours.", 2, TIERS_HINT))
    elif hours != sorted(hours) or hours[0] != 0:
        errors.append(
            _error(
                f"EARNINGS_COMMISSION_TIERS must start at 0 hours and rise, not {hours}.",
                3,
                TIERS_HINT,
            )
        )
    outside = [percent for _, percent in tiers if not 0 <= percent <= 100]
    if outside:
        errors.append(_error(f"EARNINGS_COMMISSION_TIERS has percent(s) outside 0-100: {outside}.", 4, TIERS_HINT))
    return errors


@checks.register()
def business_limits(app_configs, **kwargs) -> list[checks.Error]:
    errors = []
    for name in POSITIVE_LIMITS:
        value = getattr(settings, name)
        if value <= 0:
            errors.append(_error(f"{name} must be positive, not {value}.", 10))
    for low_name, high_name in LIMIT_RANGES:
        low, high = getattr(settings, low_name), getattr(settings, high_name)
        if low <= 0:
            errors.append(_error(f"{low_name} must be positive, not {low}.", 10))
        if low > high:
            errors.append(_error(f"{low_name} ({low}) is above {high_name} ({high}).", 11))
    step = settings.LESSONS_DURATION_STEP_MINUTES
    bounds = (settings.LESSONS_MIN_DURATION_MINUTES, settings.LESSONS_MAX_DURATION_MINUTES)
    if step > 0 and any(bound % step for bound in bounds):
        errors.append(
            _error(
                f"LESSONS_MIN_DURATION_MINUTES and LESSONS_MAX_DURATION_MINUTES {bounds} must be multiples of "
                f"LESSONS_DURATION_STEP_MINUTES ({step}): no lesson length would fit otherwise.",
                12,
            )
        )
    reload = settings.WALLET_AUTO_RELOAD_DEFAULT_AMOUNT_MINOR
    if not settings.WALLET_TOP_UP_MIN_MINOR <= reload <= settings.WALLET_TOP_UP_MAX_MINOR:
        errors.append(
            _error(
                f"WALLET_AUTO_RELOAD_DEFAULT_AMOUNT_MINOR ({reload}) is outside the top-up range "
                f"[WALLET_TOP_UP_MIN_MINOR, WALLET_TOP_UP_MAX_MINOR]: every default reload would be refused.",
                13,
            )
        )
    percent = settings.LESSONS_LATE_CANCELLATION_TUTOR_SHARE_PERCENT
    if not 0 <= percent <= 100:
        errors.append(_error(f"LESSONS_LATE_CANCELLATION_TUTOR_SHARE_PERCENT must be 0-100, not {percent}.", 10))
    return errors


@checks.register()
def business_windows(app_configs, **kwargs) -> list[checks.Error]:
    errors = [
        _error(f"{name} must not be negative, not {getattr(settings, name)}.", 20)
        for name in WINDOWS
        if getattr(settings, name) < 0
    ]
    if settings.PAYMENTS_RECOVERY_AFTER_SECONDS <= 0:
        errors.append(
            _error(
                "PAYMENTS_RECOVERY_AFTER_SECONDS must be positive: recovery would race requests still talking to the "
                "provider.",
                21,
            )
        )
    if settings.PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS < settings.PAYMENTS_RECOVERY_AFTER_SECONDS:
        errors.append(
            _error(
                "PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS is shorter than PAYMENTS_RECOVERY_AFTER_SECONDS: reconcile "
                "would report intents recovery has not yet tried.",
                22,
            )
        )
    if settings.EARNINGS_PAYOUT_RETRY_BACKOFF_SECONDS > settings.EARNINGS_PAYOUT_RETRY_BACKOFF_MAX_SECONDS:
        errors.append(
            _error("EARNINGS_PAYOUT_RETRY_BACKOFF_SECONDS is above EARNINGS_PAYOUT_RETRY_BACKOFF_MAX_SECONDS.", 23)
        )
    return errors
