"""Feature flags on django-waffle with stable per-user rollouts (docs/OPERATIONS.md, Feature flags).

    from wemaster.flags import flag_is_active

    if flag_is_active("cache.tutor_directory", request.user):
        ...

Flags, switches and samples are waffle's, managed in the admin and with waffle's commands
(`manage.py waffle_flag cache.tutor_directory --percent 10`). The flag model (`models.Flag`)
buckets users by a hash of flag name and user id, so a rollout is stable; decisions read a cached
table (`selectors.py`) and cost no database query once warm. Flags are declared in `registry.py`.
"""

from wemaster.flags.checks import cache_family_enabled, flag_is_active, sample_is_active, switch_is_active

__all__ = ["cache_family_enabled", "flag_is_active", "sample_is_active", "switch_is_active"]
