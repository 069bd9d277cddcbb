from django.apps import AppConfig


class FlagsConfig(AppConfig):
    name = "wemaster.flags"
    label = "flags"
    verbose_name = "Feature flags"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from wemaster.flags import metrics, signals  # noqa: F401 - the flag-state series and the table's invalidation
