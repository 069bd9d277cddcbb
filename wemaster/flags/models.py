"""waffle's flag, its percentage decided by stable per-user buckets (`buckets.py`)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from waffle.models import AbstractUserFlag

from wemaster.flags.buckets import in_rollout, percent_in_buckets


class Flag(AbstractUserFlag):
    # waffle stops at 99.9 (100 % is its `everyone`); a rollout here ends at 100.
    percent = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Percentage of users (0.0 to 100.0) the flag is on for, by stable per-user buckets: "
        "users in at 10 % stay in at 50 %. Anonymous callers are in only at 100 %.",
        verbose_name="Percent",
    )

    class Meta(AbstractUserFlag.Meta):
        verbose_name = "Flag"
        verbose_name_plural = "Flags"

    def _is_active_for_percent(self, request, read_only: bool) -> bool | None:
        """waffle's request API (templates, `waffle.flag_is_active`) buckets as `flag_is_active` does."""
        if self.percent is None:
            return None
        user = getattr(request, "user", None)
        return in_rollout(self.name, percent_in_buckets(self.percent), user)
